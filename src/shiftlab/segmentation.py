"""Equivariant dense prediction (chapter 10): a small encoder–decoder that segments the glyphs,
polyphase upsampling, and why APS needs APS-U to make a mask follow every shift.

A *segmentation* network returns one class score per class and pixel, ``(N, K, H, W)``. With
circular padding it is equivariant to a shift ``T_t`` when ``f(T_t x) = T_t f(x)``: the mask
moves with the image. The encoder–decoder here downsamples twice and upsamples twice:

    e1 = ρ(W1 ⋆ x)          d1 = down(e1)        (H/2)
    e2 = ρ(W2 ⋆ d1)         d2 = down(e2)        (H/4)
    m  = W3 ⋆ d2 + b3       (no ReLU: training cannot switch the coarsest path off)
    g2 = ρ(W4 ⋆ (up(m) + e2))                     (H/2; the skip adds e2)
    f  = W5 ⋆ (up(g2) + e1)                       (H: K class scores per pixel)

``ρ(z) = ReLU(z + bias)``, every convolution 3x3 with circular padding. ``down`` is the plain
stride (``D_2 = P_(0,0)``) or APS (``shiftlab.restoring.aps_downsample``); ``up`` is the
*polyphase upsampling* ``U_a``, which puts the coarse map at component ``a`` of a map twice as
large and zeros at the three others:

    (U_a y)[2i + a_y, 2j + a_x] = y[i, j],    0 elsewhere;     P_a U_a y = y

Plain upsampling is ``U_(0,0)`` (zero insertion, what a transposed convolution starts with);
*APS-U* (Chaman & Dokmanić 2021b) upsamples into the component ``a*`` that the matching APS layer
kept. A shift moves the kept component and APS-U puts every sample back where it came from:

    U_{a'} T_q = T_t U_{a*}     with a' = (a* + t) mod 2,  q = (t + a* − a') / 2

so the whole network is equivariant to every circular shift (``SegmentationNet`` with
``down="aps", up="aps-u"``), while the stride baseline is equivariant only to shifts in
``4Z x 4Z`` and APS with plain upsampling to neither in general. Ties between APS norms break the
argument (the tie goes to the first component in row-major order, which a shift changes):
``aps_margins`` measures how far every APS choice is from a tie.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from shiftlab import _validate
from shiftlab.data import MAX_SIDE, MAX_VALUES, gaussian_images, glyph_images
from shiftlab.layers import conv2d
from shiftlab.metrics import magnitude_network, relative_error, rounding_bound
from shiftlab.restoring import aps_phase
from shiftlab.stride import component_norms, merge_polyphase, polyphase
from shiftlab.transforms import shift

SEGMENT_CLASSES = ("background", "plus", "cross")
"""The classes of a pixel: 0 background, 1 a pixel of a plus, 2 a pixel of a diagonal cross."""


def glyph_segmentation(
    n: int, size: int = 16, *, glyphs: int = 4, noise: float = 0.2, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` noisy canvases of ``size x size``, each with ``glyphs`` glyphs of chapter 4's task
    (``data.glyph_images``), and their masks: ``(n, 1, size, size)`` float32 and
    ``(n, size, size)`` ``torch.long``.

    Each glyph is a plus or a cross, uniformly at random, at a uniform position on the torus (it
    may wrap around the border), so a circular shift of the data set is another sample of the
    task. The mask is 0 on the background and ``1 + label`` on the lit pixels of a glyph (1 for
    a plus, 2 for a cross; where two glyphs overlap, the later one's class). The image is 1 on
    every lit pixel, 0 elsewhere, plus Gaussian noise of standard deviation ``noise``.
    """
    n = _validate.positive_int(n, "n")
    size = _validate.positive_int(size, "size", high=MAX_SIDE)
    glyphs = _validate.positive_int(glyphs, "glyphs", high=64)
    noise = _validate.non_negative_float(noise, "noise")
    seed = _validate.integer(seed, "seed", high=_validate.LARGEST_INT - 1)  # seed + 1 below
    if n * glyphs * size * size > MAX_VALUES:
        raise ValueError(f"n * glyphs * size**2 must be at most {MAX_VALUES} (memory), got "
                         f"n = {n}, glyphs = {glyphs}, size = {size}")
    stamps, labels = glyph_images(n * glyphs, size, noise=0.0, seed=seed)
    lit = stamps.reshape(n, glyphs, size, size) > 0
    classes = (1 + labels.reshape(n, glyphs, 1, 1)) * lit
    masks = torch.zeros(n, size, size, dtype=torch.long)
    for k in range(glyphs):  # a later glyph paints over an earlier one
        masks = torch.where(lit[:, k], classes[:, k], masks)
    clean = lit.any(dim=1, keepdim=True).float()
    return clean + noise * gaussian_images(n, size, seed=seed + 1), masks


def upsample(y: torch.Tensor, phase: torch.Tensor | tuple[int, int] = (0, 0),
             s: int = 2) -> torch.Tensor:
    """Polyphase upsampling ``U_a``: ``y`` at component ``a`` of a map ``s`` times as large,
    zeros elsewhere.

    y: ``(N, C, h, w)``; phase: one ``(a_y, a_x)`` for every sample, or an ``(N, 2)`` long tensor
    (one per sample, as ``restoring.aps_phase`` returns); returns ``(N, C, s·h, s·w)``. Pure data
    movement: nothing is rounded. ``P_a U_a y = y``.
    """
    y = _validate.values(_validate.image_tensor(y, "y", ranks=(4,)), "y")
    s = _validate.positive_int(s, "s")
    if s * s * y.numel() > MAX_VALUES:
        raise ValueError(f"s**2 * y.numel() must be at most {MAX_VALUES} (memory), got s = {s} "
                         f"for {y.numel()} values")
    if not isinstance(phase, torch.Tensor):
        a_y, a_x = _validate.offset(phase, "phase")
        phase = torch.tensor([[a_y, a_x]]).expand(len(y), 2)
    if phase.shape != (len(y), 2) or phase.dtype != torch.long:
        raise ValueError(f"phase must be a pair or an ({len(y)}, 2) long tensor, got "
                         f"{phase.dtype} of shape {tuple(phase.shape)}")
    if bool(((phase < 0) | (phase >= s)).any()):
        raise ValueError(f"phase must have entries in 0 ... s - 1 = {s - 1}, got {phase.tolist()}")
    return _upsample(y, phase, s)


def _upsample(y: torch.Tensor, phase: torch.Tensor, s: int) -> torch.Tensor:
    """``upsample`` without the checks (inside the network, also under ``torch.func.vmap``)."""
    grid = torch.arange(s)
    chosen = (grid == phase[:, :1]).to(y.dtype)[:, :, None] * (grid == phase[:, 1:]).to(
        y.dtype)[:, None, :]  # (N, s, s): 1 at the component of each sample
    parts = y[:, :, None, None] * chosen[:, None, :, :, None, None]  # (N, C, s, s, h, w)
    return merge_polyphase(parts)


DOWNS = ("stride", "aps")
UPS = ("plain", "aps-u")


@dataclass(frozen=True)
class SegmentationConfig:
    """One variant: ``SegmentationConfig("aps", "aps-u")`` is APS with APS-U."""

    down: str = "stride"  # one of DOWNS: D_2, or APS
    up: str = "plain"  # one of UPS: U_(0,0), or into the component APS kept
    channels: tuple[int, int] = (8, 16)
    classes: int = len(SEGMENT_CLASSES)
    in_channels: int = 1

    def __post_init__(self) -> None:
        _validate.one_of(self.down, "down", DOWNS)
        _validate.one_of(self.up, "up", UPS)
        if self.up == "aps-u" and self.down != "aps":
            raise ValueError("up='aps-u' puts samples back where APS took them: it needs "
                             f"down='aps', got down={self.down!r}")
        if not isinstance(self.channels, tuple) or len(self.channels) != 2:
            raise ValueError(f"channels must be a pair (c1, c2), got {self.channels!r}")
        for c in self.channels:
            _validate.positive_int(c, "channels")
        _validate.positive_int(self.classes, "classes")
        _validate.positive_int(self.in_channels, "in_channels")


class SegmentationNet(nn.Module):
    """The encoder–decoder of the module docstring: ``(N, C, H, W) -> (N, classes, H, W)``, ``H``
    and ``W`` multiples of 4. Seeded He initialisation, biases 0."""

    def __init__(self, config: SegmentationConfig | None = None, *, seed: int = 0) -> None:
        super().__init__()
        self.config = config or SegmentationConfig()
        c1, c2 = self.config.channels
        shapes = [(c1, self.config.in_channels), (c2, c1), (c2, c2), (c1, c2),
                  (self.config.classes, c1)]
        generator = torch.Generator().manual_seed(_validate.integer(seed, "seed"))
        self.weights = nn.ParameterList(
            nn.Parameter(torch.randn(o, i, 3, 3, generator=generator) * math.sqrt(2 / (9 * i)))
            for o, i in shapes)
        self.biases = nn.ParameterList(nn.Parameter(torch.zeros(o)) for o, _ in shapes)

    @property
    def terms(self) -> int:
        """The number of terms of all the sums from the input to an output, for rounding bounds:
        ``9 c_in`` products, the bias and the skip per convolution."""
        return sum(9 * w.shape[1] + 2 for w in self.weights)

    def _layer(self, k: int, x: torch.Tensor, relu: bool = True) -> torch.Tensor:
        y = conv2d(x, self.weights[k], padding="circular") + self.biases[k][:, None, None]
        return torch.relu(y) if relu else y

    def _down(self, x: torch.Tensor, phase: torch.Tensor | None
              ) -> tuple[torch.Tensor, torch.Tensor]:
        """Halve ``x`` keeping component ``phase`` (by default: the stride's, or APS's choice)."""
        if x.shape[-2] % 2 or x.shape[-1] % 2:
            raise ValueError(f"x must have height and width divisible by 4, got a feature map "
                             f"of {tuple(x.shape[-2:])}")
        if phase is None:
            if self.config.down == "stride":
                return x[..., ::2, ::2], torch.zeros(len(x), 2, dtype=torch.long)
            phase = aps_phase(x, 2)
        # component phase[n] of sample n: what restoring.aps_downsample keeps for APS's phase
        return polyphase(x, 2).movedim(1, 3)[torch.arange(len(x)), phase[:, 0], phase[:, 1]], phase

    def _up(self, y: torch.Tensor, phase: torch.Tensor) -> torch.Tensor:
        if self.config.up == "plain":
            phase = torch.zeros(len(y), 2, dtype=torch.long)
        return _upsample(y, phase, 2)

    def forward(self, x: torch.Tensor, phases: tuple[torch.Tensor, torch.Tensor] | None = None
                ) -> torch.Tensor:
        """Class scores ``(N, classes, H, W)``. ``phases``: the components the two downsamplings
        keep, ``(N, 2)`` each; by default chosen by the network (``phases(x)``)."""
        x = _validate.image_tensor(x, ranks=(4,))
        if x.shape[1] != self.config.in_channels:
            raise ValueError(f"x must have {self.config.in_channels} channels (axis 1), got "
                             f"shape {tuple(x.shape)}")
        first, second = (None, None) if phases is None else phases
        e1 = self._layer(0, x)
        d1, a1 = self._down(e1, first)
        e2 = self._layer(1, d1)
        d2, a2 = self._down(e2, second)
        m = self._layer(2, d2, relu=False)  # linear: a bottleneck that cannot die
        g2 = self._layer(3, self._up(m, a2) + e2)
        return self._layer(4, self._up(g2, a1) + e1, relu=False)

    @torch.no_grad()
    def phases(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The components the two downsamplings keep, ``(N, 2)`` each (``(0, 0)`` for a stride)."""
        e1 = self._layer(0, _validate.image_tensor(x, ranks=(4,)))
        d1, a1 = self._down(e1, None)
        _, a2 = self._down(self._layer(1, d1), None)
        return a1, a2

    @torch.no_grad()
    def margins(self, x: torch.Tensor) -> torch.Tensor:
        """How far each APS choice is from a tie, per sample: the smallest, over the two APS
        layers, of ``(largest − second largest component norm) / largest``. ``(N,)`` float64.
        A margin far above the rounding of the norms (about 1e-6 in float32) means that a
        shifted input makes the same choice, moved."""
        x = _validate.image_tensor(x, ranks=(4,))
        e1 = self._layer(0, x)
        gaps = [_gap(e1)]
        d1, _ = self._down(e1, None)
        gaps.append(_gap(self._layer(1, d1)))
        return torch.minimum(*gaps)


def _gap(x: torch.Tensor) -> torch.Tensor:
    norms = component_norms(x, 2).flatten(1).sort(dim=1, descending=True).values
    top = torch.where(norms[:, 0] > 0, norms[:, 0], torch.ones_like(norms[:, 0]))
    return (norms[:, 0] - norms[:, 1]) / top


def aps_margins(net: SegmentationNet, x: torch.Tensor) -> torch.Tensor:
    """``net.margins(x)``: per sample, how far the closest APS choice is from a tie."""
    if not isinstance(net, SegmentationNet) or net.config.down != "aps":
        raise TypeError(f"net must be a SegmentationNet with down='aps', got {net!r:.80}")
    return net.margins(x)


def _shifted_copies(x: torch.Tensor, shifts: list[tuple[int, int]]) -> torch.Tensor:
    """Every shift of ``x`` in one batch: ``(len(shifts) · N, C, H, W)``, shift by shift."""
    if not isinstance(shifts, list | tuple) or not shifts:
        raise ValueError(f"shifts must be a non-empty list of shifts (dy, dx), got {shifts!r:.60}")
    return torch.cat([shift(x, _validate.offset(t, "shifts[k]")) for t in shifts])


def shift_errors(net: nn.Module, x: torch.Tensor, shifts: list[tuple[int, int]]
                 ) -> torch.Tensor:
    """The equivariance error ``‖f(T_t x) − T_t f(x)‖ / ‖f(x)‖`` (chapter 3's units) of ``net``
    for every shift in ``shifts`` and sample of ``x``: ``(len(shifts), N)``. All the shifted
    inputs go through ``net`` in one batch."""
    _validate.function(net, "net")
    x = _validate.image_tensor(x, ranks=(4,))
    moved = _shifted_copies(x, shifts)
    with torch.no_grad():
        fx, f_moved = net(x), net(moved)
    expected = _shifted_copies(fx, shifts)
    return relative_error(f_moved, expected, batched=True).reshape(len(shifts), len(x))


def shift_bounds(net: SegmentationNet, x: torch.Tensor, shifts: list[tuple[int, int]]
                 ) -> torch.Tensor:
    """The largest ``shift_errors`` that rounding alone can cause, where the law holds in exact
    arithmetic and every APS choice follows the shift: ``(len(shifts), N)``.

        γ_n (‖M(T_t |x|)‖ + ‖M(|x|)‖) / ‖f(x)‖,    n = net.terms

    with ``M`` the network with every weight replaced by its absolute value, run with the
    components ``net`` chose for each input (``metrics.magnitude_network``)."""
    if not isinstance(net, SegmentationNet):
        raise TypeError(f"net must be a SegmentationNet, got {type(net).__name__}")
    x = _validate.image_tensor(x, ranks=(4,))
    moved = _shifted_copies(x, shifts)
    magnitude = magnitude_network(net)
    with torch.no_grad():
        reference = torch.linalg.vector_norm(net(x).flatten(1), dim=1)
        still = torch.linalg.vector_norm(magnitude(x.abs(), net.phases(x)).flatten(1), dim=1)
        m = torch.linalg.vector_norm(magnitude(moved.abs(), net.phases(moved)).flatten(1), dim=1)
    bound = rounding_bound(m.reshape(len(shifts), len(x)) + still, net.terms) / reference
    return torch.where(reference == 0, torch.full_like(bound, float("inf")), bound)


def mask_changes(net: nn.Module, x: torch.Tensor, t: tuple[int, int]) -> torch.Tensor:
    """The fraction of pixels of each sample whose class differs between the mask of the shifted
    image and the shifted mask, ``argmax f(T_t x) ≠ T_t argmax f(x)``: ``(N,)`` float64."""
    _validate.function(net, "net")
    x = _validate.image_tensor(x, ranks=(4,))
    t = _validate.offset(t)
    with torch.no_grad():
        moved = net(shift(x, t)).argmax(dim=1)
        still = shift(net(x).argmax(dim=1)[:, None], t)[:, 0]
    return (moved != still).double().flatten(1).mean(dim=1)


def mean_iou(predicted: torch.Tensor, target: torch.Tensor, classes: int) -> float:
    """The mean intersection over union of two label maps of one shape, over the ``classes``
    classes present in either (``|P ∩ T| / |P ∪ T|`` per class, counted over every pixel of
    every sample, then averaged)."""
    for name, value in (("predicted", predicted), ("target", target)):
        if not isinstance(value, torch.Tensor) or value.dtype != torch.long:
            raise TypeError(f"{name} must be a torch.long tensor of class indices, got "
                            f"{value!r:.60}")
    if predicted.shape != target.shape:
        raise ValueError(f"predicted and target must have one shape, got "
                         f"{tuple(predicted.shape)} and {tuple(target.shape)}")
    _validate.values(predicted, "predicted")
    _validate.values(target, "target")
    classes = _validate.positive_int(classes, "classes", high=1024)
    ious = []
    for k in range(classes):
        p, q = predicted == k, target == k
        union = int((p | q).sum())
        if union:
            ious.append(int((p & q).sum()) / union)
    if not ious:
        raise ValueError("predicted and target must hold at least one pixel")
    return sum(ious) / len(ious)
