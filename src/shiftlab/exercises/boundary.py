"""Checkers for chapter 5, boundary effects.

Each checker draws its trials from a seeded generator: randomized over image and filter sizes,
strides, error maps and regression problems, and the same trials on every run, so a notebook's
output does not change between runs.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from shiftlab import _validate
from shiftlab.boundary import (
    band_width,
    camera_error_map,
    distance_to_frame,
    influence_mask,
    receptive_field,
    tap_coverage,
)
from shiftlab.data import gaussian_images, sample_image
from shiftlab.exercises._core import (
    ExerciseError,
    as_number,
    as_tensor,
    attempt,
    close,
    exercise,
    random_int,
)
from shiftlab.layers import conv2d
from shiftlab.metrics import equivariance_bound_map, magnitude_network, relative_error
from shiftlab.models import ConvNet, ConvNetConfig
from shiftlab.position import (
    LinearReadout,
    coordinate_targets,
    fit_readout,
    hypercolumns,
    pixel_features,
    r2_score,
)
from shiftlab.transforms import CropShift


def _pad_conv(x: torch.Tensor, w: torch.Tensor, pads: tuple[int, int, int, int]) -> torch.Tensor:
    """A valid convolution after ``F.pad(x, pads)`` (pads = left, right, top, bottom)."""
    return conv2d(F.pad(x[None, None], pads)[0, 0], w, padding="valid")


@exercise("5.1", "full convolution from zero padding")
def check_full_conv(full_conv2d: Callable, *, seed: int = 0, trials: int = 30) -> None:
    """``full_conv2d(x, w)`` must equal ``conv2d(x, w, padding="full")`` for ``(H, W)`` images and
    ``(k_h, k_w)`` filters, square or not, in float64 to 1e-9."""
    generator = torch.Generator().manual_seed(seed)
    for trial in range(trials):
        k_h, k_w = random_int(1, 5, generator), random_int(1, 5, generator)
        if trial < 3:
            k_w = k_h = 3
        elif trial % 3 == 0 and k_h == k_w:
            k_w = k_h % 5 + 1  # make sure non-square filters come up
        height, width = random_int(k_h, 9, generator), random_int(k_w, 9, generator)
        x = torch.randn(height, width, generator=generator, dtype=torch.float64)
        w = torch.randn(k_h, k_w, generator=generator, dtype=torch.float64)
        original = x
        want = conv2d(original, w, padding="full")
        call = f"full_conv2d(x, w) with x of shape {(height, width)} and a {k_h}x{k_w} filter w"
        got = as_tensor(attempt(full_conv2d, x, w, call=call), call)
        if got.shape == want.shape and close(got, want):
            continue
        hint = ""
        if got.shape == want.shape:
            if close(got, conv2d(original, torch.flip(w, (0, 1)), padding="full")):
                hint = ("You flipped the filter. conv2d (like every deep-learning library) "
                        "computes a cross-correlation: use w as it is.")
        elif got.shape == (height, width):
            hint = ("That is the size of same padding, (k - 1) // 2 zeros per side. Full "
                    "convolution pads k - 1 zeros on every side, so the output grows by k - 1.")
        elif got.shape == (height + k_h + 1, width + k_w + 1):
            hint = "Too many zeros: a k x k filter needs k - 1 per side, not k."
        elif got.shape == (height - k_h + 1, width - k_w + 1):
            hint = "No zeros came in: pad x with k - 1 zeros on every side first."
        elif got.shape == (height + 2 * k_w - k_h - 1, width + 2 * k_h - k_w - 1):
            hint = ("The rows got the padding of the columns: F.pad takes (left, right, top, "
                    "bottom), the last axis first.")
        else:
            hint = f"The output of a full convolution is {tuple(want.shape)}: H + k - 1 high."
        raise ExerciseError(
            f"{call} returned shape {tuple(got.shape)}"
            + ("" if got.shape != want.shape else
               f", {float(relative_error(got, want, batched=False)):.2g} away (relative)")
            + f"; expected conv2d(x, w, padding='full'), shape {tuple(want.shape)}. {hint}"
        )


CORNERS: dict[str, tuple[str, str]] = {
    "top left": ("top", "left"),
    "top right": ("top", "right"),
    "bottom left": ("bottom", "left"),
    "bottom right": ("bottom", "right"),
}
"""The four corners of an image, for exercise 5.2."""

_MODES = ("valid", "same", "full", "circular", "reflect")


def corner_pixel(corner: str, size: int = 6) -> tuple[int, int]:
    """The ``(i, j)`` of ``corner`` (a key of ``CORNERS``) in a ``size x size`` image."""
    _validate.one_of(corner, "corner", tuple(CORNERS))
    size = _validate.positive_int(size, "size", high=4096)
    vertical, horizontal = CORNERS[corner]
    return (0 if vertical == "top" else size - 1), (0 if horizontal == "left" else size - 1)


def measured_seeing_taps(padding: str, corner: str) -> torch.Tensor:
    """Which taps of a 3x3 filter multiply the ``corner`` pixel of a 6x6 image: bool ``(3, 3)``."""
    return tap_coverage(6, 3, padding, corner_pixel(corner)) > 0


def _taps_text(mask: torch.Tensor) -> str:
    return "\n".join("  " + " ".join("#" if v else "." for v in row) for row in mask.tolist())


@exercise("5.2", "which taps see a corner pixel?")
def check_seeing_taps(seeing_taps: Callable) -> None:
    """``seeing_taps(padding, corner)`` returns the bool ``(3, 3)`` mask of the taps of a 3x3
    filter that multiply the ``corner`` pixel of a 6x6 image at some output position, for every
    padding mode and every corner."""
    wrong = []
    for padding in _MODES:
        for corner in CORNERS:
            want = measured_seeing_taps(padding, corner)
            call = f"seeing_taps({padding!r}, {corner!r})"
            got = attempt(seeing_taps, padding, corner, call=call)
            if isinstance(got, list) and all(type(row) is list and all(type(v) is bool for v in row)
                                             for row in got):
                got = torch.tensor(got)  # nested lists of bools, e.g. [[True, False, ...], ...]
            got = as_tensor(got, call, dtype=None)
            if got.shape != (3, 3) or got.dtype != torch.bool:
                raise ExerciseError(
                    f"{call} returned dtype {got.dtype} and shape {tuple(got.shape)}; expected a "
                    "bool tensor of shape (3, 3), True for the taps that see the pixel"
                )
            if torch.equal(got, want):
                continue
            hint = ""
            if padding == "reflect" and bool(got.all()):
                hint = ("Reflect padding mirrors the neighbours of the edge pixel, not the edge "
                        "pixel itself: no copy of the corner lies beyond the frame.")
            elif padding == "circular" and not bool(got.all()):
                hint = ("Circular padding puts copies of the corner pixel beyond the opposite "
                        "edges, where the other taps meet it.")
            elif torch.equal(got, measured_seeing_taps(padding, "top left")):
                hint = ("That is the answer for the top-left corner. Tap u meets the last row "
                        "only if u >= k - 1 - p: the mask turns with the corner.")
            elif torch.equal(got, ~want):
                hint = "You marked the taps that never see it: flip True and False."
            wrong.append(f"  {call}:\n    measured (# = sees it)\n{_taps_text(want)}\n"
                         f"    yours\n{_taps_text(got)}\n    {hint}")
    if wrong:
        raise ExerciseError(
            f"{len(wrong)} of {len(_MODES) * len(CORNERS)} masks disagree with the measurement "
            f"(tap_coverage(6, 3, padding, pixel) > 0):\n" + "\n".join(wrong[:3])
            + ("\n  ..." if len(wrong) > 3 else "")
        )


def measured_receptive_field(kernel_sizes: list[int], strides: list[int]) -> int:
    """The span (first to last pixel, inclusive) of the input pixels that move output pixel
    ``(0, 0)`` of a stack of valid convolutions with random weights, per axis."""
    kernel_sizes = [_validate.positive_int(k, "kernel_sizes[k]", high=64)
                    for k in _validate.sequence(kernel_sizes, "kernel_sizes")]
    strides = [_validate.positive_int(s, "strides[k]", high=64)
               for s in _validate.sequence(strides, "strides")]
    if len(strides) != len(kernel_sizes):
        raise ValueError(f"kernel_sizes and strides must have one entry per layer each, got "
                         f"{len(kernel_sizes)} and {len(strides)}")
    if len(kernel_sizes) > 16:
        raise ValueError(f"kernel_sizes must have at most 16 layers, got {len(kernel_sizes)}")
    span = 1 + sum((k - 1) * _product(strides[:n]) for n, k in enumerate(kernel_sizes))
    generator = torch.Generator().manual_seed(len(kernel_sizes))
    filters = [torch.randn(1, 1, k, k, generator=generator, dtype=torch.float64)
               for k in kernel_sizes]

    def stack(x: torch.Tensor) -> torch.Tensor:
        for w, s in zip(filters, strides, strict=True):
            x = conv2d(x, w, padding="valid", stride=s)
        return x

    x = torch.randn(1, 1, span + 2, span + 2, generator=generator, dtype=torch.float64)
    rows = torch.nonzero(influence_mask(stack, x, (0, 0)).any(dim=1)).flatten()
    return int(rows.max() - rows.min()) + 1


def _product(values: list[int]) -> int:
    result = 1
    for v in values:
        result *= v
    return result


@exercise("5.3", "the receptive field of a strided stack")
def check_receptive_field(receptive_field_size: Callable, *, seed: int = 0,
                          trials: int = 25) -> None:
    """``receptive_field_size(kernel_sizes, strides)`` returns how many input pixels, from the
    first to the last, one output pixel of a stack of convolutions depends on (per axis); the
    check measures it with autograd on random stacks."""
    generator = torch.Generator().manual_seed(seed)
    for trial in range(trials):
        depth = 1 if trial < 3 else random_int(1, 4, generator)
        kernels = [(1, 2, 3, 5)[random_int(0, 3, generator)] for _ in range(depth)]
        strides = [1 if trial < 6 else random_int(1, 3, generator) for _ in range(depth)]
        want = measured_receptive_field(kernels, strides)
        call = f"receptive_field_size({kernels}, {strides})"
        got = as_number(attempt(receptive_field_size, kernels, strides, call=call), call)
        if got == want:
            continue
        hint = ""
        if got == 1 + sum(k - 1 for k in kernels):
            hint = ("That ignores the strides: after a stride-s layer, one step of the next "
                    "filter moves s input pixels, so its k - 1 steps span (k - 1) s pixels.")
        elif got == 1 + sum((k - 1) * _product(strides[: n + 1]) for n, k in enumerate(kernels)):
            hint = ("A layer's own stride does not widen its own filter: multiply k - 1 by the "
                    "strides of the layers *before* it.")
        elif got == sum((k - 1) * _product(strides[:n]) for n, k in enumerate(kernels)):
            hint = "Off by one: count the pixel itself, 1 + the sum."
        elif got == sum(k * _product(strides[:n]) for n, k in enumerate(kernels)):
            hint = "A k x k filter widens the field by k - 1 steps, not k."
        raise ExerciseError(
            f"{call} returned {got:g}; measured {want} (autograd on a random stack of valid "
            f"convolutions). {hint}"
        )


def _synthetic_band(size: tuple[int, int], width: int,
                    generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """An error map ``(H, W)`` and its rounding bound: above the bound only within ``width`` of
    the frame, with an error above it on the deepest ring at a random side and some errors
    below it inside the band; everywhere else "rounding noise" between 0 and the bound."""
    distance = distance_to_frame(size)
    bound = 1e-12 * (1 + torch.rand(*size, generator=generator, dtype=torch.float64))
    noise = bound * torch.rand(*size, generator=generator, dtype=torch.float64)
    error = torch.rand(*size, generator=generator, dtype=torch.float64)
    error[torch.rand(*size, generator=generator) < 0.3] = 0
    error = torch.where(distance >= width, noise, torch.maximum(error, noise))
    if width:
        ring = torch.nonzero(distance == width - 1)
        i, j = ring[random_int(0, len(ring) - 1, generator)].tolist()
        error[i, j] = 1.0
    return error, bound


def band_error_maps(depths: range = range(1, 6)) -> dict[int, tuple[torch.Tensor, torch.Tensor]]:
    """The camera error maps of zero-padded ``ConvNet``s (8 channels, 3x3) of each depth, on the
    photograph (a 48x48 scene, a 24x24 view moved by (2, -3)), in float64, each with its
    rounding bound: ``{depth: (error, bound)}``, two ``(24, 24)`` maps."""
    depths = [_validate.positive_int(d, "depths[k]", high=12)
              for d in _validate.sequence(depths, "depths")]
    scene = sample_image(48, dtype=torch.float64)[None, None]
    maps = {}
    for depth in depths:
        net = ConvNet(ConvNetConfig(channels=(8,) * depth, padding="same"), seed=0).double()
        error = camera_error_map(net.features, scene, (2, -3), 12)
        bound = equivariance_bound_map(magnitude_network(net).features, scene,
                                       CropShift(2, -3, 12), terms=depth * (8 * 9 + 1))
        maps[depth] = error, bound.amax(dim=(0, 1))
    return maps


def _partial_widths(error: torch.Tensor, tol: torch.Tensor) -> set[int]:
    """Band widths measured with an incomplete distance: rows only, columns only, or only the
    top and left edges."""
    height, width = error.shape
    rows, columns = torch.arange(height)[:, None], torch.arange(width)[None, :]
    distances = (
        torch.minimum(rows, height - 1 - rows).expand(height, width),
        torch.minimum(columns, width - 1 - columns).expand(height, width),
        torch.minimum(rows, columns),
    )
    wrong = error > tol
    return {int(d[wrong].max()) + 1 for d in distances if wrong.any()}


@exercise("5.4", "the width of the error band")
def check_band_width(my_band_width: Callable, *, seed: int = 0, trials: int = 30) -> None:
    """``my_band_width(error, tol)`` returns the smallest ``w`` such that the ``(H, W)`` map
    ``error`` is at most ``tol`` (a map of the same shape: the rounding bound of each pixel) at
    every pixel at distance ``>= w`` from the frame; tried on random band maps with rounding
    noise, then on the error maps of zero-padded networks of depth 1 to 5."""
    generator = torch.Generator().manual_seed(seed)
    cases = []
    for trial in range(trials):
        size = (random_int(4, 14, generator), random_int(4, 14, generator))
        width = 0 if trial == 0 else random_int(1, min(size) // 2, generator)
        cases.append((f"a random {size[0]}x{size[1]} map with a band of width {width}",
                      *_synthetic_band(size, width, generator)))
    networks = band_error_maps()
    cases += [(f"the camera error map of a zero-padded network of depth {d}", *maps)
              for d, maps in networks.items()]
    for text, error, tol in cases:
        want = band_width(error, tol)
        call = f"my_band_width(error, tol) on {text}"
        got = as_number(attempt(my_band_width, error, tol, call=call), call)
        if got == want:
            continue
        hint = ""
        if want and got == want - 1:
            hint = ("Off by one: a band of width w covers the distances 0 to w - 1, so w is "
                    "the largest distance with an error above tol, plus 1.")
        elif got in _partial_widths(error, tol):
            hint = ("Measure the distance to the nearest of the four edges, min(i, j, H-1-i, "
                    "W-1-j): rows and columns, near and far edges all count.")
        elif got == band_width(error):
            hint = ("That counts every nonzero error; compare with tol instead: an error within "
                    "its rounding bound is no error.")
        elif got == int((error > tol).sum()):
            hint = "That counts the pixels above tol; the width is a distance from the frame."
        raise ExerciseError(f"{call} returned {got:g}; expected {want}. {hint}")
    print("Your band widths of the zero-padded networks, beside the reach L·r:")
    for depth, (error, tol) in networks.items():
        width = as_number(attempt(my_band_width, error, tol, call="my_band_width"), "width")
        print(f"  depth {depth}: band {width:g}, reach {receptive_field(depth, 3)[1]}")


def _reference_predictions(features: torch.Tensor, targets: torch.Tensor, ridge: float,
                           test: torch.Tensor) -> torch.Tensor:
    return fit_readout(features, targets, ridge)(test)


def _readout_hint(weight: torch.Tensor, bias: torch.Tensor, features: torch.Tensor,
                  targets: torch.Tensor, ridge: float) -> str:
    """What a wrong read-out probably computed instead."""
    test = features[:8]
    got = test @ weight + bias

    def near(other: torch.Tensor) -> bool:
        return got.shape == other.shape and float(relative_error(got, other,
                                                                 batched=False)) <= 1e-6

    size = len(features)
    no_bias = torch.linalg.lstsq(features.T @ features / size + ridge * torch.eye(
        features.shape[1], dtype=torch.float64), features.T @ targets / size).solution
    if near(test @ no_bias):
        return ("No intercept: the targets and features do not have mean 0. Fit the bias too "
                "(centre F and Y, or append a column of ones that is not penalised).")
    ones = torch.cat([features, torch.ones(size, 1, dtype=torch.float64)], dim=1)
    penalised = torch.linalg.lstsq(ones.T @ ones / size + ridge * torch.eye(
        ones.shape[1], dtype=torch.float64), ones.T @ targets / size).solution
    if near(torch.cat([test, torch.ones(len(test), 1, dtype=torch.float64)], 1) @ penalised):
        return "The intercept is penalised too: the ridge term is λ‖W‖² only, not λ b²."
    if near(_reference_predictions(features, targets, ridge * size, test)):
        return ("The ridge is P times too strong: the objective averages over the P rows, "
                "(1/P)‖FW + b - Y‖² + λ‖W‖², so the normal equations have F_cᵀF_c / P + λ I.")
    if near(_reference_predictions(features, targets, 0.0, test)):
        return "That is plain least squares: add λ I to the (centred, averaged) Gram matrix."
    return ""


@exercise("5.5", "a ridge read-out of position")
def check_readout(my_fit_readout: Callable, *, seed: int = 0, trials: int = 12) -> None:
    """``my_fit_readout(features, targets, ridge)`` returns ``(weight, bias)`` minimising
    ``(1/P)‖F W + b - Y‖² + λ‖W‖²`` for ``F`` ``(P, C)`` and ``Y`` ``(P, T)``, in float64; then
    it decodes position from zero-padded and circular features."""
    generator = torch.Generator().manual_seed(seed)
    for trial in range(trials):
        rows, channels, outputs = (random_int(20, 60, generator), random_int(1, 6, generator),
                                   random_int(1, 3, generator))
        ridge = (0.0, 1e-3, 0.1, 1.0)[trial % 4]
        features = torch.randn(rows, channels, generator=generator, dtype=torch.float64) + 2
        targets = (features @ torch.randn(channels, outputs, generator=generator,
                                          dtype=torch.float64) + 1
                   + 0.3 * torch.randn(rows, outputs, generator=generator, dtype=torch.float64))
        call = f"my_fit_readout(features {tuple(features.shape)}, targets " \
               f"{tuple(targets.shape)}, ridge={ridge})"
        want = _reference_predictions(features, targets, ridge, features)
        answer = attempt(my_fit_readout, features, targets, ridge, call=call)
        if not isinstance(answer, tuple | list) or len(answer) != 2:
            raise ExerciseError(f"{call} returned {type(answer).__name__}; expected a pair "
                                "(weight, bias)")
        weight, bias = (as_tensor(a, call).double() for a in answer)
        if weight.shape != (channels, outputs) or bias.shape != (outputs,):
            raise ExerciseError(
                f"{call} returned weight {tuple(weight.shape)} and bias {tuple(bias.shape)}; "
                f"expected ({channels}, {outputs}) and ({outputs},)"
            )
        got = features @ weight + bias
        if float(relative_error(got, want, batched=False)) <= 1e-6:
            continue
        raise ExerciseError(
            f"{call}: its predictions differ from the ridge solution by "
            f"{float(relative_error(got, want, batched=False)):.2g} (relative). "
            + _readout_hint(weight, bias, features, targets, ridge)
        )
    train, test = gaussian_images(8, 12, seed=1), gaussian_images(8, 12, seed=2)
    print("Your read-out of (row, column) from a frozen random ConvNet (6 layers, 16 channels),")
    print("R² on held-out noise images:")
    for name, mode in (("zero", "same"), ("circular", "circular")):
        net = ConvNet(ConvNetConfig(channels=(16,) * 6, padding=mode), seed=0)
        call = "my_fit_readout"
        weight, bias = attempt(my_fit_readout, pixel_features(hypercolumns(net, train)).double(),
                               coordinate_targets(8, 12), 1e-3, call=call)
        readout = LinearReadout(as_tensor(weight, call).double(), as_tensor(bias, call).double())
        r2 = r2_score(readout(pixel_features(hypercolumns(net, test))),
                      coordinate_targets(8, 12))
        print(f"  {name} padding: R² row {float(r2[0]):.2f}, column {float(r2[1]):.2f}")


__all__ = [
    "CORNERS",
    "band_error_maps",
    "check_band_width",
    "check_full_conv",
    "check_readout",
    "check_receptive_field",
    "check_seeing_taps",
    "corner_pixel",
    "measured_receptive_field",
    "measured_seeing_taps",
]
