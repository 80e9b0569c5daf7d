"""The layers whose symmetries the course studies: convolution with a padding mode, global pooling.

Convolution here is what every deep-learning library computes, a cross-correlation:

    y[o, i, j] = Σ_c Σ_{u, v} w[o, c, u, v] · x̃[c, s·i + u, s·j + v]

where ``x̃`` is ``x`` padded by the chosen mode and ``s`` is the stride. The padding decides what
the filter sees beyond the border:

- ``"circular"``: the image wraps around (a torus); output ``(H, W)``. Commutes with ``shift``.
- ``"same"``:     zeros, ``k − 1`` in all per axis, split before/after; output ``(H, W)``.
- ``"valid"``:    no padding; output ``(H − k + 1, W − k + 1)``.
- ``"full"``:     ``k − 1`` zeros on every side; output ``(H + k − 1, W + k − 1)``.
- ``"reflect"``:  mirror images of the border pixels; output ``(H, W)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from shiftlab import _validate

PADDINGS = ("circular", "same", "valid", "full", "reflect")


def conv2d(
    x: torch.Tensor, weight: torch.Tensor, *, padding: str = "circular", stride: int = 1
) -> torch.Tensor:
    """2-D convolution (cross-correlation) of ``x`` with ``weight`` under a padding mode.

    x: ``(H, W)`` with weight ``(k_h, k_w)``, or ``(N, C, H, W)`` with weight ``(O, C, k_h, k_w)``.
    padding: one of ``PADDINGS``; stride: a positive int.
    Returns ``(H', W')`` or ``(N, O, H', W')``.
    """
    _validate.one_of(padding, "padding", PADDINGS)
    stride = _validate.positive_int(stride, "stride")
    x, weight, single = image_and_filter(x, weight)
    k_h, k_w = weight.shape[-2:]
    if padding == "same" and k_h % 2 and k_w % 2 and max(k_h, k_w) <= 2 * max(x.shape[-2:]) + 1:
        # zeros on every side, (k - 1) / 2 of them: the convolution pads them itself, without
        # a padded copy of x (the same numbers as ``pad`` then ``F.conv2d``; a test checks it)
        y = F.conv2d(x, weight, stride=stride, padding=(k_h // 2, k_w // 2))
        return y[0, 0] if single else y
    x = pad(x, (k_h, k_w), padding)
    if x.shape[-2] < k_h or x.shape[-1] < k_w:
        raise ValueError(
            f"weight must fit in the padded input {tuple(x.shape[-2:])} (padding={padding!r}), "
            f"got a {k_h}x{k_w} kernel"
        )
    y = F.conv2d(x, weight, stride=stride)
    return y[0, 0] if single else y


def pad(x: torch.Tensor, kernel_size: tuple[int, int], padding: str) -> torch.Tensor:
    """Pad ``x`` of shape ``(N, C, H, W)`` as ``conv2d`` does for a ``kernel_size`` filter."""
    x = _validate.image_tensor(x, ranks=(4,), finite=False)
    k_h, k_w = _validate.offset(kernel_size, "kernel_size")
    if k_h < 1 or k_w < 1:
        raise ValueError(f"kernel_size must be a pair of ints >= 1, got {kernel_size!r}")
    _validate.one_of(padding, "padding", PADDINGS)
    if padding in ("same", "full") and max(k_h, k_w) > 2 * max(x.shape[-2:]) + 1:
        raise ValueError(f"kernel_size must be at most twice the image size plus one, "
                         f"{2 * max(x.shape[-2:]) + 1}, for {padding} padding, got {kernel_size!r}")
    if padding == "valid":
        return x
    if padding == "full":
        return F.pad(x, (k_w - 1, k_w - 1, k_h - 1, k_h - 1))
    # Odd kernels get (k - 1) / 2 on each side; even ones one more after than before.
    sides = ((k_w - 1) // 2, k_w // 2, (k_h - 1) // 2, k_h // 2)
    if padding == "same":
        return F.pad(x, sides)
    if k_h > x.shape[-2] or k_w > x.shape[-1]:
        raise ValueError(
            f"{padding} padding needs a weight no larger than the image "
            f"{tuple(x.shape[-2:])}, got a {k_h}x{k_w} kernel"
        )
    return F.pad(x, sides, mode=padding)


def max_pool(x: torch.Tensor, size: int = 2, stride: int | None = None) -> torch.Tensor:
    """Local max pooling: ``y[i, j] = max over the size x size window at (s·i, s·j)``.

    x: ``(H, W)`` or ``(N, C, H, W)``; stride defaults to ``size``. No padding: a window that
    would leave the image is dropped, so the output is ``floor((H - size) / s) + 1`` high.
    """
    x = _validate.image_tensor(x)
    size = _validate.positive_int(size, "size")
    stride = size if stride is None else _validate.positive_int(stride, "stride")
    if size > min(x.shape[-2:]):
        raise ValueError(f"size must be at most the image size {tuple(x.shape[-2:])}, got {size}")
    return F.max_pool2d(x[None, None] if x.dim() == 2 else x, size, stride).reshape(
        *x.shape[:-2], *_pooled_shape(x.shape[-2:], size, stride)
    )


def _pooled_shape(shape: torch.Size, size: int, stride: int) -> tuple[int, int]:
    return tuple((n - size) // stride + 1 for n in shape)  # type: ignore[return-value]


def global_max_pool(x: torch.Tensor) -> torch.Tensor:
    """``max_{i, j} x[..., i, j]``: ``(N, C, H, W) -> (N, C)``, ``(H, W) -> ()``."""
    x = _validate.image_tensor(x)
    return x.amax(dim=(-2, -1))


def global_avg_pool(x: torch.Tensor) -> torch.Tensor:
    """``(1 / HW) Σ_{i, j} x[..., i, j]``: ``(N, C, H, W) -> (N, C)``, ``(H, W) -> ()``."""
    x = _validate.image_tensor(x)
    return x.mean(dim=(-2, -1))


def edge_kernel(direction: str = "vertical", dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The 3x3 Sobel filter that responds to ``"vertical"`` or ``"horizontal"`` edges.

    Built as an outer product of a derivative ``[-1, 0, 1]`` and a smoothing ``[1, 2, 1]``.
    """
    _validate.one_of(direction, "direction", ("vertical", "horizontal"))
    dtype = _validate.float_dtype(dtype)
    derivative = torch.tensor([-1.0, 0.0, 1.0], dtype=dtype)
    smoothing = torch.tensor([1.0, 2.0, 1.0], dtype=dtype)
    if direction == "vertical":
        return torch.outer(smoothing, derivative)
    return torch.outer(derivative, smoothing)


def image_and_filter(
    x: torch.Tensor, weight: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, bool]:
    """Check an image and a filter for a convolution; return them as ``(N, C, H, W)`` and
    ``(O, C, k_h, k_w)``, and whether they came as a single ``(H, W)`` image and filter.

    Raises ``TypeError``/``ValueError`` when the ranks, dtypes or channel counts disagree.
    """
    x = _validate.image_tensor(x)
    weight = _validate.image_tensor(weight, "weight", ranks=(x.dim(),))
    if weight.device != x.device:
        raise ValueError(f"weight must be on the device of x ({x.device}), got {weight.device}")
    if weight.dtype != x.dtype:
        raise TypeError(f"weight must have the dtype of x ({x.dtype}), got {weight.dtype}")
    single = x.dim() == 2
    if single:
        x, weight = x[None, None], weight[None, None]
    if weight.shape[1] != x.shape[1]:
        raise ValueError(
            f"weight must have {x.shape[1]} input channels (the C of x), got weight of shape "
            f"{tuple(weight.shape)}"
        )
    return x, weight, single
