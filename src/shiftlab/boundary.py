"""Boundary effects: what a convolution sees beyond the frame, and where that changes its output.

A ``k x k`` filter at output pixel ``(i, j)`` multiplies tap ``(u, v)`` with ``x̃[i + u, j + v]``,
where ``x̃`` is the input padded by the mode (``shiftlab.layers.conv2d``):

- ``output_size``: ``H - k + 1`` (valid), ``H`` (same, circular, reflect), ``H + k - 1`` (full);
- ``tap_coverage``: for one input pixel ``p``, how many output positions each tap reads it at,
  ``counts[u, v] = #{(i, j) : x̃[i + u, j + v] is x[p]}``;
- ``coverage_map``: for every input pixel, how many (tap, output position) pairs read it;
- ``receptive_field``: a stack of ``L`` stride-1 ``k x k`` layers lets an output pixel see
  ``1 + L (k - 1)`` pixels per axis, ``L r`` on each side (``r = (k - 1) // 2``, the *reach*);
  ``influence_mask`` measures it with autograd;
- ``camera_error_map``: ``|f(C_t s) - C_t f(s)|`` per output pixel, for a view ``C_t s`` of a
  larger scene ``s`` (a camera that moves): zero wherever the receptive field stays in the view;
- ``distance_to_frame`` and ``band_width``: how far from the frame an error map exceeds the
  rounding bound (``shiftlab.metrics.equivariance_bound_map``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from shiftlab import _validate
from shiftlab.layers import PADDINGS, conv2d
from shiftlab.transforms import crop_shift

Network = Callable[[torch.Tensor], torch.Tensor]


MAX_SIDE = 4096
"""The largest image side (and filter side) these maps are computed for."""
MAX_TAPS = 64
"""The largest filter side of ``tap_coverage`` (one one-hot filter per tap)."""


def _pair(value: int | tuple[int, int], name: str, high: int = MAX_SIDE) -> tuple[int, int]:
    if isinstance(value, tuple | list):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
        return (_validate.positive_int(value[0], f"{name}[0]", high=high),
                _validate.positive_int(value[1], f"{name}[1]", high=high))
    side = _validate.positive_int(value, name, high=high)
    return side, side


def output_size(
    size: int | tuple[int, int], kernel_size: int | tuple[int, int], padding: str
) -> tuple[int, int]:
    """The ``(H', W')`` of ``conv2d`` on an ``(H, W)`` image with a ``(k_h, k_w)`` filter.

    valid: ``H - k + 1``; same, circular, reflect: ``H``; full: ``H + k - 1`` (per axis).
    """
    height, width = _pair(size, "size")
    k_h, k_w = _pair(kernel_size, "kernel_size")
    _validate.one_of(padding, "padding", PADDINGS)
    growth = {"valid": -1, "full": 1}.get(padding, 0)  # times k - 1, per axis
    out = height + growth * (k_h - 1), width + growth * (k_w - 1)
    if min(out) < 1:
        raise ValueError(
            f"kernel_size {(k_h, k_w)} does not fit in size {(height, width)} with "
            f"padding={padding!r}"
        )
    return out


def _impulse(size: tuple[int, int], pixel: tuple[int, int], dtype: torch.dtype) -> torch.Tensor:
    i, j = _validate.offset(pixel, "pixel")
    if not (0 <= i < size[0] and 0 <= j < size[1]):
        raise ValueError(f"pixel must lie in the image of size {size}, got {(i, j)}")
    x = torch.zeros(1, 1, *size, dtype=dtype)
    x[0, 0, i, j] = 1
    return x


def tap_coverage(
    size: int | tuple[int, int],
    kernel_size: int | tuple[int, int],
    padding: str,
    pixel: tuple[int, int] = (0, 0),
) -> torch.Tensor:
    """How many output positions each filter tap reads ``x[pixel]`` at: ``(k_h, k_w)`` ints.

    ``counts[u, v] = #{(i, j) : x̃[i + u, j + v] is x[pixel]}``, counting the copies that
    circular and reflect padding put beyond the frame. A tap with count 0 never sees the pixel.
    Computed with ``conv2d`` itself: the impulse at ``pixel`` convolved with the one-hot filter
    of each tap, summed over the output.
    """
    size = _pair(size, "size")
    k_h, k_w = _pair(kernel_size, "kernel_size", MAX_TAPS)
    output_size(size, (k_h, k_w), padding)
    x = _impulse(size, pixel, torch.float64)
    one_hot = torch.eye(k_h * k_w, dtype=torch.float64).reshape(k_h * k_w, 1, k_h, k_w)
    counts = conv2d(x, one_hot, padding=padding).sum(dim=(0, 2, 3))
    return counts.round().long().reshape(k_h, k_w)


def coverage_map(
    size: int | tuple[int, int], kernel_size: int | tuple[int, int], padding: str
) -> torch.Tensor:
    """How many (tap, output position) pairs read each input pixel: ``(H, W)`` ints.

    ``c[p] = Σ_{u, v} tap_coverage(..., pixel=p)[u, v] = ∂/∂x[p] Σ conv2d(x, ones)``: an interior
    pixel is read ``k_h k_w`` times; the border decides the rest.
    """
    size = _pair(size, "size")
    kernel = _pair(kernel_size, "kernel_size")
    output_size(size, kernel, padding)
    x = torch.zeros(1, 1, *size, dtype=torch.float64, requires_grad=True)
    ones = torch.ones(1, 1, *kernel, dtype=torch.float64)
    conv2d(x, ones, padding=padding).sum().backward()
    return x.grad[0, 0].round().long()


def receptive_field(depth: int, kernel_size: int) -> tuple[int, int]:
    """``(size, reach)`` of one output pixel of ``depth`` stride-1 ``k x k`` layers, per axis.

    size ``= 1 + L (k - 1)`` input pixels; reach ``= L r`` with ``r = (k - 1) // 2``, how far
    it extends on each side of the pixel (odd ``k``; an even filter reaches one pixel more on
    one side).
    """
    depth = _validate.non_negative_int(depth, "depth", high=10**6)
    k = _validate.positive_int(kernel_size, "kernel_size", high=10**6)
    return 1 + depth * (k - 1), depth * ((k - 1) // 2)


def influence_mask(f: Network, x: torch.Tensor, at: tuple[int, int]) -> torch.Tensor:
    """The measured receptive field: which pixels of ``x`` move the output of ``f`` at ``at``.

    x: ``(N, C, H, W)``; f maps it to ``(N, O, H', W')``. Returns a bool ``(H, W)`` map, True
    where the gradient at ``x`` of ``Σ_o a_o f(x)[:, o, at]`` is nonzero for some sample, with
    random weights ``a_o`` (seeded): a pixel that moves any output channel moves this sum, except
    on a set of weights of probability 0. One backward pass.
    """
    _validate.function(f, "f")
    x = _validate.input_of(f, x, "x").detach().clone().requires_grad_(True)
    i, j = _validate.offset(at, "at")
    y = f(x)
    if not isinstance(y, torch.Tensor) or y.dim() != 4:
        raise ValueError(f"f must return an (N, O, H', W') tensor, got {type(y).__name__}")
    if not (0 <= i < y.shape[-2] and 0 <= j < y.shape[-1]):
        raise ValueError(f"at must lie in the output of size {tuple(y.shape[-2:])}, got {(i, j)}")
    weights = torch.randn(y.shape[1], generator=torch.Generator().manual_seed(0),
                          dtype=y.dtype).to(y.device)
    (grad,) = torch.autograd.grad((y[:, :, i, j] * weights).sum(), x)
    return (grad != 0).any(dim=(0, 1))


def distance_to_frame(size: int | tuple[int, int]) -> torch.Tensor:
    """``d[i, j] = min(i, j, H - 1 - i, W - 1 - j)``: 0 on the outermost ring, ``(H, W)`` ints."""
    height, width = _pair(size, "size")
    rows, columns = torch.arange(height), torch.arange(width)
    d_rows = torch.minimum(rows, height - 1 - rows)
    d_columns = torch.minimum(columns, width - 1 - columns)
    return torch.minimum(d_rows[:, None], d_columns[None, :])


def band_width(error: torch.Tensor, tol: float | torch.Tensor = 0.0) -> int:
    """The smallest ``w`` with ``error <= tol`` at every pixel at distance ``>= w`` from the frame.

    error: an ``(H, W)`` map of non-negative errors; tol: one number, or an ``(H, W)`` map (the
    rounding bound of each pixel, ``shiftlab.metrics.equivariance_bound_map``). 0 when the whole
    map is within ``tol``; ``w`` when the error reaches ``w`` rings in from the frame and no
    further.
    """
    error = _validate.values(_validate.image_tensor(error, "error", ranks=(2,)), "error")
    if isinstance(tol, torch.Tensor):
        if tol.shape != error.shape or not tol.is_floating_point() or tol.device != error.device:
            raise ValueError(
                f"tol must be a number or a float map of the shape of error, {tuple(error.shape)}"
                f", got a {tol.dtype} tensor of shape {tuple(tol.shape)} on {tol.device}"
            )
        _validate.finite_values(tol, "tol")
    else:
        tol = _validate.non_negative_float(tol, "tol")
    wrong = distance_to_frame(tuple(error.shape)).to(error.device)[error.abs() > tol]
    return int(wrong.max()) + 1 if wrong.numel() else 0


def camera_error_map(
    f: Network, scene: torch.Tensor, t: tuple[int, int], margin: int
) -> torch.Tensor:
    """``|f(C_t s) - C_t f(s)|`` per output pixel, the largest over samples and channels.

    The camera law of a moving view: ``C_t`` is ``shiftlab.crop_shift`` with ``margin`` (the view
    is the scene less ``margin`` on every side, moved by ``t``), applied to the scene on the
    left and to the network's output on the scene on the right. scene: ``(N, C, H, W)``;
    f: a stack of convolutions of any padding mode. Returns an ``(H', W')`` map on the grid of
    ``f(C_t s)``. It is 0 wherever that pixel's receptive field stays inside the view, as long
    as ``margin - |t|`` exceeds the reach of ``f`` (so the scene's own border stays out of view).
    """
    _validate.function(f, "f")
    scene = _validate.input_of(f, scene, "scene")
    with torch.no_grad():
        moved_view = f(crop_shift(scene, t, margin))
        output = f(scene)
        if not isinstance(output, torch.Tensor) or output.dim() != 4 or \
                not isinstance(moved_view, torch.Tensor):
            raise ValueError(f"f must return an (N, O, H', W') tensor, got "
                             f"{getattr(output, 'shape', type(output).__name__)}")
        view_of_output = crop_shift(output, t, margin)
    if moved_view.shape != view_of_output.shape:
        raise ValueError(
            f"f(C_t s) has shape {tuple(moved_view.shape)} but C_t f(s) has shape "
            f"{tuple(view_of_output.shape)}: f must change the size of every image by the same "
            "number of pixels (a stack of convolutions does)"
        )
    return (moved_view - view_of_output).abs().amax(dim=(0, 1))


__all__ = [
    "band_width",
    "camera_error_map",
    "coverage_map",
    "distance_to_frame",
    "influence_mask",
    "output_size",
    "receptive_field",
    "tap_coverage",
]
