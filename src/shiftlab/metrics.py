"""Measures of equivariance and invariance, and what "exact" means in floating point.

For a map ``f``, an input transformation ``g`` and an output transformation ``g'``:

    equivariance error  e(x) = ‖f(g x) − g' f(x)‖ / ‖f(x)‖
    invariance error    the same with g' = identity:  ‖f(g x) − f(x)‖ / ‖f(x)‖

``f`` is equivariant when ``e(x) = 0`` for every ``x`` and invariant when the invariance error is 0.
A computer rounds every addition, and a CPU may add the terms of a sum in another order than the
next CPU, so "= 0" is portable only in two cases:

- the data make every partial sum exact (small integers held in floats): the two sides are then
  equal bit for bit on every CPU;
- otherwise "= 0" means "no larger than rounding can make it". A sum of ``n`` terms computed in
  any order is within ``γ_n Σ|terms|`` of the exact sum, ``γ_n = n u / (1 − n u)`` with the unit
  roundoff ``u = ε / 2`` (Higham 2002, §3.1): ``rounding_bound``. Both sides of a law are
  rounded, so they may differ by twice that (``equivariance_bound``, ``equivariance_bound_map``).
  For a network of sums, ReLUs and max pools, ``Σ|terms|`` of its output is bounded by the same
  network with every parameter and pixel replaced by its absolute value
  (``magnitude_network``), and ``n`` by the number of terms of all its sums together.

``exact_tolerance`` is that bound for a relative error when the terms do not cancel: ``2 γ_64``,
about 64 ε. ``fraction_exact`` counts the samples within a tolerance (a number, or one per sample).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence

import torch
from torch import nn

from shiftlab import _validate
from shiftlab.transforms import Identity

Transform = Callable[[torch.Tensor], torch.Tensor]

EXACT_TERMS = 64
"""``exact_tolerance`` by default covers two roundings of sums of up to this many terms."""


def unit_roundoff(dtype: torch.dtype) -> float:
    """``u = ε / 2``, the largest relative error of one rounded operation in ``dtype``.

    float32: 6.0e-8, float64: 1.1e-16.
    """
    dtype = _validate.float_dtype(dtype)
    return torch.finfo(dtype).eps / 2


def _gamma(terms: int, dtype: torch.dtype) -> float:
    """``γ_n = n u / (1 − n u)``: the relative error bound of a sum of ``n`` terms."""
    nu = terms * unit_roundoff(dtype)
    if nu >= 0.5:
        raise ValueError(
            f"terms = {terms} is too many for a rounding bound in {dtype} (n u must stay below "
            "1/2)"
        )
    return nu / (1 - nu)


def exact_tolerance(dtype: torch.dtype, terms: int = EXACT_TERMS) -> float:
    """The largest relative error still called exact: ``2 γ_n``, both sides of a law rounded.

    It is the bound of ``equivariance_bound`` for sums of ``terms`` terms that do not cancel
    (``Σ|terms| = |Σ terms|``); with the default 64 terms about 64 ε: float32 7.6e-6,
    float64 1.4e-14. A law that is broken (a misplaced pixel, a lost border) misses by far more.
    Where terms cancel, or sums are longer, compute the bound with ``equivariance_bound``.
    """
    dtype = _validate.float_dtype(dtype)
    terms = _validate.positive_int(terms, "terms")
    return 2 * _gamma(terms, dtype)


def rounding_bound(magnitude: torch.Tensor, terms: int) -> torch.Tensor:
    """``γ_n · magnitude``: how far a computed sum of ``n = terms`` terms can be from the exact sum.

    ``|fl(Σ a_i) − Σ a_i| ≤ γ_n Σ |a_i|`` whatever the order of the additions, with
    ``γ_n = n u / (1 − n u)`` (Higham 2002, §3.1; products ``w·x`` count as terms, they are
    rounded once). magnitude: ``Σ |a_i|`` per output, any shape, in the dtype of the computation;
    returns a tensor of its shape. For a chain of sums (a network), ``magnitude`` is the output
    of ``magnitude_network`` and ``terms`` the number of terms of all the sums along the way.
    """
    if not isinstance(magnitude, torch.Tensor) or not magnitude.is_floating_point():
        raise TypeError(f"magnitude must be a floating-point torch.Tensor, got {magnitude!r:.60}")
    if _validate.readable(magnitude) and (
            bool((magnitude < 0).any()) or not bool(torch.isfinite(magnitude).all())):
        raise ValueError("magnitude must be finite and non-negative (a sum of absolute values)")
    terms = _validate.positive_int(terms, "terms")
    return _gamma(terms, magnitude.dtype) * magnitude


def sequential_sum(values: torch.Tensor, order: torch.Tensor | None = None) -> torch.Tensor:
    """Each row of ``values`` summed one term at a time, in the column ``order`` (default left to
    right): ``((a_0 + a_1) + a_2) + ...``. The order is the caller's, not the library's, so the
    result is the same on every CPU. values: ``(N, n)``; returns ``(N,)``.
    """
    if not isinstance(values, torch.Tensor) or not values.is_floating_point():
        raise TypeError(f"values must be a floating-point torch.Tensor, got {values!r:.60}")
    if values.dim() != 2 or values.shape[1] == 0:
        raise ValueError(f"values must have shape (N, n) with n >= 1, got {tuple(values.shape)}")
    n = values.shape[1]
    if n > 100_000:
        raise ValueError(f"values must have at most 100000 columns (one addition each, in "
                         f"Python), got {n}")
    if order is None:
        order = torch.arange(n)
    elif not isinstance(order, torch.Tensor) or order.is_floating_point() or order.is_complex() \
            or order.dtype == torch.bool or sorted(order.tolist()) != list(range(n)):
        raise ValueError(f"order must be a permutation of 0 ... {n - 1}, got {order!r:.60}")
    total = torch.zeros(len(values), dtype=values.dtype, device=values.device)
    for column in order.tolist():
        total = total + values[:, column]
    return total


def magnitude_network(net: nn.Module) -> nn.Module:
    """A copy of ``net`` with every parameter replaced by its absolute value.

    For a network of sums (convolutions, linear layers, biases, averages), ReLUs and max pools,
    ``magnitude_network(net)(x.abs())`` bounds, at every output, the sum of the absolute values of
    the terms the network adds: ``|W| M + |b|`` layer by layer (a ReLU or a max of non-negative
    numbers changes nothing). Rounding then moves each output by at most
    ``rounding_bound(M, n)``, ``n`` the number of terms of all the sums together, to first order
    in u. ``net`` itself is not changed.
    """
    if not isinstance(net, nn.Module):
        raise TypeError(f"net must be a torch.nn.Module, got {type(net).__name__}")
    magnitude = copy.deepcopy(net)
    with torch.no_grad():
        for parameter in magnitude.parameters():
            parameter.abs_()
    return magnitude


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
    batched = _validate.boolean(batched, "batched")
    if a.device != b.device:
        raise ValueError(f"a and b must be on one device, got {a.device} and {b.device}")
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


def equivariance_bound_map(
    magnitude: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    g: Transform,
    terms: int,
    g_out: Transform | None = None,
) -> torch.Tensor:
    """How far ``f(g x)`` and ``g' f(x)`` can differ by rounding alone, at every output entry:

        γ_n · ( M(g |x|) + g' M(|x|) ),     n = terms

    the rounding bound of each side (``rounding_bound``). magnitude: ``M``, the map ``f`` with
    every weight replaced by its absolute value (``magnitude_network``; for one convolution,
    ``lambda z: conv2d(z, w.abs(), ...)``); g, g_out: transformations that move pixels (shifts,
    crops, rotations), ``g_out`` by default ``g``. Returns a tensor shaped like ``f(g x)``: where
    ``|f(g x) − g' f(x)|`` exceeds it, the law is broken, on every CPU.
    """
    _validate.function(magnitude, "magnitude")
    x = _validate.image_tensor(x)
    _validate.function(g, "g")
    g_out = g if g_out is None else _validate.function(g_out, "g_out")
    terms = _validate.positive_int(terms, "terms")
    with torch.no_grad():
        moved = magnitude(g(x).abs())
        still = g_out(magnitude(x.abs()))
    if not isinstance(moved, torch.Tensor) or not isinstance(still, torch.Tensor) or (
            moved.shape != still.shape):
        raise ValueError(
            f"M(g|x|) and g'(M(|x|)) must be tensors of one shape, got {_describe(moved)} and "
            f"{_describe(still)}"
        )
    return rounding_bound(moved, terms) + rounding_bound(still, terms)


def equivariance_bound(
    f: Callable[[torch.Tensor], torch.Tensor],
    magnitude: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    g: Transform,
    terms: int,
    g_out: Transform | None = None,
) -> torch.Tensor:
    """The largest equivariance error rounding alone can cause: ``‖B‖ / ‖f(x)‖``, with ``B`` the
    ``equivariance_bound_map``. Shaped like ``equivariance_error(f, x, g, g_out)`` (one number per
    sample for ``(N, C, H, W)`` inputs); an error above it is a broken law on every CPU.
    """
    _validate.function(f, "f")
    bound = equivariance_bound_map(magnitude, x, g, terms, g_out)
    with torch.no_grad():
        fx = f(x)
    if not isinstance(fx, torch.Tensor) or fx.shape != bound.shape:
        raise ValueError(
            f"f(x) must have the shape of M(x), {tuple(bound.shape)}, got {_describe(fx)}"
        )
    batched = x.dim() == 4
    bound, fx = (bound.reshape(len(bound), -1), fx.reshape(len(fx), -1)) if batched else (
        bound.ravel(), fx.ravel())
    dim = 1 if batched else 0
    num = torch.linalg.vector_norm(bound, dim=dim)
    den = torch.linalg.vector_norm(fx, dim=dim)
    zero = den == 0
    ratio = num / torch.where(zero, torch.ones_like(den), den)
    return torch.where(zero & (num > 0), torch.full_like(ratio, float("inf")), ratio)


def fraction_exact(errors: torch.Tensor, tol: float | torch.Tensor | None = None) -> float:
    """Fraction of the ``errors`` that are at most ``tol`` (default: ``exact_tolerance``).

    errors: a tensor of relative errors, e.g. the per-sample output of ``equivariance_error``;
    tol: one number, or one per error (e.g. ``equivariance_bound``).
    Returns a Python float in ``[0, 1]``.
    """
    if not isinstance(errors, torch.Tensor):
        raise TypeError(f"errors must be a torch.Tensor, got {type(errors).__name__}")
    if not errors.is_floating_point():
        raise TypeError(f"errors must have a floating-point dtype, got {errors.dtype}")
    if errors.numel() == 0:
        raise ValueError("errors must not be empty")
    _validate.values(errors, "errors")
    if bool(torch.isnan(errors).any()):
        raise ValueError(f"errors must not be NaN (a NaN is neither exact nor not), got "
                         f"{int(torch.isnan(errors).sum())} NaN among {errors.numel()}")
    if tol is None:
        tol = exact_tolerance(errors.dtype)
    elif isinstance(tol, torch.Tensor):
        if tol.shape != errors.shape or not tol.is_floating_point() or tol.device != \
                errors.device or bool((tol < 0).any()) or bool(torch.isnan(tol).any()):
            raise ValueError(
                f"tol must be a number or a non-negative float tensor of the shape of errors, "
                f"{tuple(errors.shape)}, got {_describe(tol)}"
            )
    else:
        tol = _validate.non_negative_float(tol, "tol")
    return (errors <= tol).double().mean().item()


def _describe(value: object) -> str:
    if isinstance(value, torch.Tensor):
        return f"a tensor of dtype {value.dtype} and shape {tuple(value.shape)}"
    return type(value).__name__


def symmetry_table(
    functions: Mapping[str, Callable[[torch.Tensor], torch.Tensor]],
    x: torch.Tensor,
    transforms: Sequence[Transform],
    tol: float | None = None,
) -> dict[str, dict[str, float | None]]:
    """Measure each function on every (sample, transform) pair of ``x`` and ``transforms``.

    Returns ``{name: row}`` with the fraction of pairs on which the function is exactly
    invariant and exactly equivariant (``g' = g``): error at most ``tol``, by default
    ``exact_tolerance``; ``tol=0`` asks for bit-for-bit equality, portable when the data make
    every sum exact (small integers). Also the largest invariance and equivariance error. The
    equivariance entries are ``None`` where the output has no spatial axes to shift.
    """
    if not isinstance(functions, Mapping):
        raise TypeError(f"functions must be a mapping {{name: function}}, got "
                        f"{type(functions).__name__}")
    if not functions:
        raise ValueError("functions must name at least one function")
    if isinstance(transforms, str) or not isinstance(transforms, Sequence):
        raise TypeError(f"transforms must be a sequence of transformations, got "
                        f"{type(transforms).__name__}")
    if not transforms:
        raise ValueError("transforms must not be empty")
    for name, f in functions.items():
        _validate.function(f, f"functions[{name!r}]")
    for i, g in enumerate(transforms):
        _validate.function(g, f"transforms[{i}]")
    x = _validate.values(_validate.image_tensor(x), "x")
    tol = exact_tolerance(x.dtype) if tol is None else _validate.non_negative_float(tol, "tol")
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
            "exactly invariant": fraction_exact(invariance, tol),
            "exactly equivariant": (
                None if equivariance is None else fraction_exact(equivariance, tol)
            ),
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
    x = _validate.values(_validate.image_tensor(x, ranks=(4,)), "x")
    _validate.function(g, "g")
    _validate.function(h, "h")
    with torch.no_grad():
        first, second = f(g(x)), f(h(x))
    if not isinstance(first, torch.Tensor) or not isinstance(second, torch.Tensor) or \
            first.dim() != 2 or first.shape != second.shape or len(first) != len(x):
        raise ValueError(
            f"f must return class scores of shape (N, K) = ({len(x)}, K), got {_describe(first)}"
        )
    if not (bool(torch.isfinite(first).all()) and bool(torch.isfinite(second).all())):
        raise ValueError("f must return finite class scores, got NaN or infinity: no class "
                         "is predicted")
    return (first.argmax(dim=1) == second.argmax(dim=1)).double().mean().item()
