"""Measures of equivariance and invariance.

For a map ``f``, an input transformation ``g`` and an output transformation ``g'``:

    equivariance error  e(x) = ‖f(g x) − g' f(x)‖ / ‖f(x)‖
    invariance error    the same with g' = identity:  ‖f(g x) − f(x)‖ / ‖f(x)‖

``f`` is equivariant when ``e(x) = 0`` for every ``x`` and invariant when the invariance error is 0.
In floating point, "= 0" means "no larger than rounding": a relative error of a few machine
epsilons (float32: ε ≈ 1.2e-7, float64: ε ≈ 2.2e-16). ``exact_tolerance`` fixes the number we call
exact (64 ε), and ``fraction_exact`` counts the samples that meet it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch

from shiftlab import _validate
from shiftlab.transforms import Identity

Transform = Callable[[torch.Tensor], torch.Tensor]

EXACT_ULPS = 64
"""A law holds "exactly" when its relative error is at most ``EXACT_ULPS`` machine epsilons."""


def exact_tolerance(dtype: torch.dtype) -> float:
    """The largest relative error still called exact in ``dtype``: ``64 ε``.

    float32: 7.6e-6, float64: 1.4e-14. Rounding in a convolution of a few dozen terms stays far
    below; a law that is broken (a misplaced pixel, a lost border) is far above.
    """
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating-point torch.dtype, got {dtype!r}")
    return EXACT_ULPS * torch.finfo(dtype).eps


def relative_error(a: torch.Tensor, b: torch.Tensor, *, batched: bool) -> torch.Tensor:
    """``‖a − b‖ / ‖b‖``, per sample along axis 0 when ``batched``, else over the whole tensor.

    Where ``‖b‖ = 0`` the error is 0 if ``a = b`` and ``inf`` otherwise.
    Returns shape ``(N,)`` when batched, else a 0-dim tensor.
    """
    for name, value in (("a", a), ("b", b)):
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
        if not value.is_floating_point():
            raise TypeError(f"{name} must have a floating-point dtype, got {value.dtype}")
    if a.shape != b.shape:
        raise ValueError(
            f"a and b must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}"
        )
    if batched and a.dim() == 0:
        raise ValueError("batched=True needs tensors with a batch axis, got 0-dim tensors")
    dim = 1 if batched else 0
    a, b = (a.reshape(len(a), -1), b.reshape(len(b), -1)) if batched else (a.ravel(), b.ravel())
    num = torch.linalg.vector_norm(a - b, dim=dim)
    den = torch.linalg.vector_norm(b, dim=dim)
    zero_ref = den == 0
    error = num / torch.where(zero_ref, torch.ones_like(den), den)
    return torch.where(zero_ref & (num > 0), torch.full_like(error, float("inf")), error)


def equivariance_error(
    f: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    g: Transform,
    g_out: Transform | None = None,
) -> torch.Tensor:
    """Relative equivariance error ``‖f(g x) − g' f(x)‖ / ‖f(x)‖``.

    f: a map on images (a function or a ``torch.nn.Module``).
    x: ``(H, W)`` gives one error (0-dim tensor); ``(N, C, H, W)`` gives one error per sample,
       shape ``(N,)`` (``f`` must keep the batch axis first).
    g: the input transformation, e.g. ``Shift(1, 0)``.
    g_out: the output transformation ``g'``; by default the same as ``g``.
    """
    _validate.function(f, "f")
    x = _validate.image_tensor(x)
    _validate.function(g, "g")
    g_out = g if g_out is None else _validate.function(g_out, "g_out")
    with torch.no_grad():
        fx = f(x)
        lhs = f(g(x))
        try:
            rhs = g_out(fx)
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"g_out = {g_out!r} cannot transform f(x), {_describe(fx)}: {error}. For an "
                "output without spatial axes, measure invariance (g_out = Identity())"
            ) from error
    for name, value in (("f(x)", fx), ("f(g(x))", lhs), ("g_out(f(x))", rhs)):
        if not isinstance(value, torch.Tensor) or not value.is_floating_point():
            raise TypeError(f"{name} must be a floating-point tensor, got {_describe(value)}")
    if lhs.shape != rhs.shape:
        raise ValueError(
            f"f(g(x)) has shape {tuple(lhs.shape)} but g_out(f(x)) has shape {tuple(rhs.shape)}; "
            "choose an output transformation g_out that maps f's output to the shape of f(g(x))"
        )
    batched = x.dim() == 4
    if batched and (lhs.dim() == 0 or len(lhs) != len(x)):
        raise ValueError(
            f"for x of shape {tuple(x.shape)}, f must return a tensor whose first axis has the "
            f"{len(x)} samples, got shape {tuple(lhs.shape)}"
        )
    return relative_error(lhs, rhs, batched=batched)


def invariance_error(
    f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, g: Transform
) -> torch.Tensor:
    """Relative invariance error ``‖f(g x) − f(x)‖ / ‖f(x)‖``: equivariance with ``g' = id``."""
    return equivariance_error(f, x, g, Identity())


def fraction_exact(errors: torch.Tensor, tol: float | None = None) -> float:
    """Fraction of the ``errors`` that are at most ``tol`` (default: ``exact_tolerance``).

    errors: a tensor of relative errors, e.g. the per-sample output of ``equivariance_error``.
    Returns a Python float in ``[0, 1]``.
    """
    if not isinstance(errors, torch.Tensor):
        raise TypeError(f"errors must be a torch.Tensor, got {type(errors).__name__}")
    if not errors.is_floating_point():
        raise TypeError(f"errors must have a floating-point dtype, got {errors.dtype}")
    if errors.numel() == 0:
        raise ValueError("errors must not be empty")
    tol = exact_tolerance(errors.dtype) if tol is None else _validate.non_negative_float(tol, "tol")
    return (errors <= tol).double().mean().item()


def _describe(value: object) -> str:
    if isinstance(value, torch.Tensor):
        return f"a tensor of dtype {value.dtype} and shape {tuple(value.shape)}"
    return type(value).__name__


def symmetry_table(
    functions: Mapping[str, Callable[[torch.Tensor], torch.Tensor]],
    x: torch.Tensor,
    transforms: Sequence[Transform],
) -> dict[str, dict[str, float | None]]:
    """Measure each function on every (sample, transform) pair of ``x`` and ``transforms``.

    Returns ``{name: row}`` with the fraction of pairs on which the function is exactly
    invariant and exactly equivariant (``g' = g``), and the largest invariance and equivariance
    error. The equivariance entries are ``None`` where the output has no spatial axes to shift.
    """
    if not functions:
        raise ValueError("functions must name at least one function")
    if not transforms:
        raise ValueError("transforms must not be empty")
    x = _validate.image_tensor(x)
    table: dict[str, dict[str, float | None]] = {}
    for name, f in functions.items():
        invariance = torch.cat([invariance_error(f, x, g).reshape(-1) for g in transforms])
        with torch.no_grad():
            spatial = f(x).dim() == x.dim()
        equivariance = (
            torch.cat([equivariance_error(f, x, g).reshape(-1) for g in transforms])
            if spatial
            else None
        )
        table[name] = {
            "exactly invariant": fraction_exact(invariance),
            "exactly equivariant": None if equivariance is None else fraction_exact(equivariance),
            "max invariance error": invariance.max().item(),
            "max equivariance error": None if equivariance is None else equivariance.max().item(),
        }
    return table


def prediction_agreement(
    f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, g: Transform, h: Transform
) -> float:
    """Fraction of samples whose predicted class is the same for ``g x`` and ``h x``.

    f maps ``(N, C, H, W)`` to class scores ``(N, K)``; the prediction is the arg max. With two
    random shifts this is the *consistency* of Zhang (2019); with ``h`` the identity, one minus
    the fraction of predictions a transformation changes.
    """
    _validate.function(f, "f")
    x = _validate.image_tensor(x, ranks=(4,))
    _validate.function(g, "g")
    _validate.function(h, "h")
    with torch.no_grad():
        first, second = f(g(x)), f(h(x))
    if first.dim() != 2 or first.shape != second.shape or len(first) != len(x):
        raise ValueError(
            f"f must return class scores of shape (N, K) = ({len(x)}, K), got {_describe(first)}"
        )
    return (first.argmax(dim=1) == second.argmax(dim=1)).double().mean().item()
