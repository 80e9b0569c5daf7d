"""Checkers for chapter 1, invariance and equivariance.

Each checker draws its trials from a seeded generator: randomized over shapes, shifts and images,
and the same trials on every run, so a notebook's output does not change between runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from shiftlab import _validate
from shiftlab.exercises._core import (
    ExerciseError,
    as_number,
    as_tensor,
    attempt,
    disagreements,
    exercise,
    grid_text,
    predictions,
    random_pair,
)
from shiftlab.layers import conv2d, edge_kernel, global_avg_pool, global_max_pool
from shiftlab.metrics import equivariance_error, exact_tolerance, invariance_error, relative_error
from shiftlab.transforms import Identity, Shift, shift, translate


@exercise("1.1", "circular shift by index arithmetic")
def check_circular_shift(circular_shift: Callable, *, seed: int = 0, trials: int = 60) -> None:
    """``circular_shift(x, dy, dx)`` must equal ``shift(x, (dy, dx))`` for (H, W) and (N, C, H, W).

    Small shifts come first, then shifts beyond the image size, then negative ones.
    """
    generator = torch.Generator().manual_seed(seed)
    for trial in range(trials):
        height, width = random_pair(1, 6, generator)
        reach = 1 if trial < trials // 3 else 3
        dy, dx = random_pair(-reach * 6, reach * 6, generator)
        if trial < trials // 3:
            dy, dx = dy % height, dx % width
        shape = (height, width) if trial % 2 == 0 else (2, 2, height, width)
        original = x = torch.arange(torch.Size(shape).numel(), dtype=torch.float32).reshape(shape)
        want = shift(original, (dy, dx))
        call = f"circular_shift(x, dy={dy}, dx={dx}) with x of shape {shape}"
        got = as_tensor(attempt(circular_shift, x, dy, dx, call=call), call, dtype=x.dtype)
        if got.shape != want.shape:
            raise ExerciseError(f"{call} returned shape {tuple(got.shape)}; expected {shape}")
        if torch.equal(got, want):
            continue
        hint = ""
        if torch.equal(got, shift(original, (-dy, -dx))):
            hint = ("The content moved the opposite way: "
                    "out[i, j] must be x[(i - dy) % H, (j - dx) % W].")
        elif torch.equal(got, shift(original, (dx, dy))):
            hint = "dy and dx are swapped: dy moves rows (axis -2), dx moves columns (axis -1)."
        elif torch.equal(got, translate(original, (dy, dx))):
            hint = "Zeros came in at the border: a circular shift wraps the content around instead."
        elif not (0 <= dy < height and 0 <= dx < width):
            hint = ("Shifts at least as large as the image, or negative, must wrap too: "
                    "use % H and % W.")
        raise ExerciseError(
            f"{call} is wrong.\nx =\n{grid_text(original)}\nexpected =\n{grid_text(want)}\n"
            f"got =\n{grid_text(got)}\n{hint}"
        )


@dataclass(frozen=True)
class _Case:
    name: str
    f: Callable[[torch.Tensor], torch.Tensor]
    invariant_out: bool  # the output has no spatial axes, so g' must be the identity


def _error_cases() -> list[_Case]:
    edge = edge_kernel("vertical", torch.float64)
    ramp = torch.linspace(0.5, 1.5, 16, dtype=torch.float64)
    return [
        _Case("circular convolution", lambda x: conv2d(x, edge, padding="circular"), False),
        _Case("zero-padded convolution", lambda x: conv2d(x, edge, padding="same"), False),
        _Case("multiplication by a ramp", lambda x: x * ramp, False),
        _Case("square", lambda x: x**2, False),
        _Case("global max pool", global_max_pool, True),
        _Case("global average pool", global_avg_pool, True),
    ]


@exercise("1.2", "the equivariance error")
def check_equivariance_error(
    my_equivariance_error: Callable, *, seed: int = 0, trials: int = 24
) -> None:
    """``my_equivariance_error(f, x, g, g_out)`` must equal ``‖f(g x) − g' f(x)‖ / ‖f(x)‖``."""
    generator = torch.Generator().manual_seed(seed)
    cases = _error_cases()
    for trial in range(trials):
        case = cases[trial % len(cases)]
        x = torch.randn(16, 16, generator=generator, dtype=torch.float64)
        dy, dx = random_pair(-5, 5, generator)
        g = Shift(dy, dx)
        g_out = Identity() if case.invariant_out or trial % 4 == 3 else g
        want = float(equivariance_error(case.f, x, g, g_out))
        call = f"my_equivariance_error(f, x, g={g!r}, g_out={g_out!r}) for f = {case.name}"
        got = as_number(attempt(my_equivariance_error, case.f, x, g, g_out, call=call), call)
        if abs(got - want) <= 1e-9 + 1e-6 * abs(want):
            continue
        fx, lhs, rhs = case.f(x), case.f(g(x)), g_out(case.f(x))
        absolute = float(torch.linalg.vector_norm(lhs - rhs))
        ignored_g_out = (
            float(relative_error(lhs, fx, batched=False)) if lhs.shape == fx.shape else None
        )
        hint = ""
        if abs(got - absolute) <= 1e-9 + 1e-6 * absolute:
            hint = "That is the absolute error ‖f(g x) − g' f(x)‖: divide it by ‖f(x)‖."
        elif abs(got - absolute**2 / float(torch.linalg.vector_norm(fx)) ** 2) <= 1e-6 * abs(got):
            hint = "Squares of norms: use the Euclidean norm itself, torch.linalg.vector_norm."
        elif ignored_g_out is not None and abs(got - ignored_g_out) <= 1e-6 * abs(got) + 1e-9:
            hint = "It looks as if g_out was not applied: compare f(g(x)) with g_out(f(x))."
        raise ExerciseError(f"{call} returned {got:.6g}; expected {want:.6g}. {hint}")


@dataclass(frozen=True)
class Mystery:
    """A function of an ``(H, W)`` image to classify as invariant, equivariant or neither."""

    formula: str
    f: Callable[[torch.Tensor], torch.Tensor]
    why: str

    def __post_init__(self) -> None:
        _validate.text(self.formula, "formula")
        _validate.function(self.f, "f")
        _validate.text(self.why, "why")


def _ramp(x: torch.Tensor) -> torch.Tensor:
    return torch.linspace(0.5, 1.5, x.shape[-1], dtype=x.dtype)


MYSTERIES: dict[str, Mystery] = {
    "a": Mystery(
        "conv2d(x, edge_kernel(), padding='circular')",
        lambda x: conv2d(x, edge_kernel(dtype=x.dtype), padding="circular"),
        "every output pixel applies the same filter to its wrapped-around neighbourhood, so the "
        "feature map moves with the input",
    ),
    "b": Mystery(
        "x.amax()  (the largest pixel)",
        lambda x: x.amax(),
        "a shift only permutes the pixels, and the largest value of a set does not depend on order",
    ),
    "c": Mystery(
        "x ** 2 - x.mean()",
        lambda x: x**2 - x.mean(),
        "squaring acts pixel by pixel and the mean is invariant, so the result moves with the "
        "input",
    ),
    "d": Mystery(
        "x * torch.linspace(0.5, 1.5, W)  (brighten towards the right)",
        lambda x: x * _ramp(x),
        "the weight depends on the absolute column, so moved content is weighted differently",
    ),
    "e": Mystery(
        "torch.sort(x.flatten()).values  (the sorted pixel values)",
        lambda x: torch.sort(x.flatten()).values,
        "a shift permutes the pixels, and sorting forgets the order",
    ),
    "f": Mystery(
        "conv2d(x, edge_kernel(), padding='same')  (zero padding)",
        lambda x: conv2d(x, edge_kernel(dtype=x.dtype), padding="same"),
        "zeros come in at the border, so pixels near the border see different neighbours after a "
        "shift: equivariant only away from the border (chapter 5), so not exactly",
    ),
}

ANSWERS = ("invariant", "equivariant", "neither")
_MYSTERY_SHIFTS = (Shift(1, 0), Shift(0, 3), Shift(5, 2), Shift(-3, 7))


def measure_mystery(
    f: Callable[[torch.Tensor], torch.Tensor], *, seed: int = 0
) -> dict[str, float | None]:
    """Largest invariance and equivariance error of ``f`` over random images and four shifts.

    In float64. The equivariance error is ``None`` where ``f``'s output is not an image.
    """
    _validate.function(f, "f")
    generator = torch.Generator().manual_seed(_validate.integer(seed, "seed"))
    images = torch.randn(6, 16, 16, generator=generator, dtype=torch.float64)
    spatial = f(images[0]).dim() == 2
    invariance = max(float(invariance_error(f, x, g)) for x in images for g in _MYSTERY_SHIFTS)
    equivariance = (
        max(float(equivariance_error(f, x, g)) for x in images for g in _MYSTERY_SHIFTS)
        if spatial
        else None
    )
    return {"invariance error": invariance, "equivariance error": equivariance}


def classify(errors: dict[str, float | None]) -> str:
    """``invariant`` if the invariance error is exact in float64, else ``equivariant`` if the
    equivariance error is, else ``neither``."""
    _validate.mapping(errors, "errors")
    for key in ("invariance error", "equivariance error"):
        if key not in errors:
            raise ValueError(f"errors must have the key {key!r}, got {sorted(errors)}")
    _validate.real(errors["invariance error"], "errors['invariance error']", low=0,
                   finite=False)
    if errors["equivariance error"] is not None:
        _validate.real(errors["equivariance error"], "errors['equivariance error']", low=0,
                       finite=False)
    tol = exact_tolerance(torch.float64)
    if errors["invariance error"] <= tol:
        return "invariant"
    equivariance = errors["equivariance error"]
    return "equivariant" if equivariance is not None and equivariance <= tol else "neither"


@exercise("1.3", "decide, then measure: invariant, equivariant or neither?")
def check_predictions(my_predictions: Callable[[], dict[str, str]]) -> None:
    """``my_predictions()`` returns ``{name: answer}`` for every function in ``MYSTERIES``."""
    mysteries = dict(MYSTERIES)  # the questions, fixed before the learner's code runs
    answers = predictions(my_predictions, mysteries, allowed=ANSWERS)
    wrong = []
    for name, mystery in mysteries.items():
        errors = measure_mystery(mystery.f)
        truth = classify(errors)
        if answers[name] != truth:
            measured = ", ".join(
                f"{k} {'n/a (not an image)' if v is None else f'{v:.1e}'}"
                for k, v in errors.items()
            )
            wrong.append(
                f"  {name}: {mystery.formula}\n     you said {answers[name]!r}, measured "
                f"{measured} -> {truth}: {mystery.why}."
            )
    disagreements(wrong, len(MYSTERIES), "predictions disagree with the measurement (exact "
                  f"means ≤ {exact_tolerance(torch.float64):.1e} in float64)")


@exercise("1.4", "zero-fill translation is not invertible")
def check_collision(collision: Callable, *, seed: int = 0, trials: int = 40) -> None:
    """``collision(x, t)`` returns ``x2 != x`` with ``translate(x2, t) == translate(x, t)``."""
    generator = torch.Generator().manual_seed(seed)
    for _ in range(trials):
        height, width = random_pair(2, 7, generator)
        dy, dx = 0, 0
        while (dy, dx) == (0, 0):
            dy, dx = random_pair(-width - 1, width + 1, generator)
        x = torch.randn(height, width, generator=generator)
        want = translate(x, (dy, dx))
        call = f"collision(x, t=({dy}, {dx})) with x of shape ({height}, {width})"
        x2 = as_tensor(attempt(collision, x, (dy, dx), call=call), call, dtype=x.dtype)
        if x2.shape != x.shape:
            raise ExerciseError(
                f"{call} returned shape {tuple(x2.shape)}; expected {tuple(x.shape)}"
            )
        if torch.equal(x2, x):
            raise ExerciseError(
                f"{call} returned x itself; x2 must differ from x in at least one pixel. Which "
                "pixels of x does translate(x, t) never use?"
            )
        if not torch.equal(translate(x2, (dy, dx)), want):
            differ = (translate(x2, (dy, dx)) != want).nonzero().tolist()
            raise ExerciseError(
                f"{call}: translate(x2, t) and translate(x, t) differ at output pixels "
                f"{differ[:5]}: you changed a pixel that survives the translation."
            )


def stripes(
    n: int, size: int, *, vertical: bool, generator: torch.Generator
) -> torch.Tensor:
    """``n`` striped images ``(n, 1, size, size)``: random stripe width (2 to size / 4 pixels),
    position and contrast, plus a little noise. ``size`` must be at least 8."""
    n = _validate.positive_int(n, "n", high=100_000)
    size = _validate.positive_int(size, "size", high=4096)
    if n * size * size > 2**26:
        raise ValueError(f"n x size x size must be at most {2**26} pixels, got n = {n} and "
                         f"size = {size}")
    vertical = _validate.boolean(vertical, "vertical")
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    images = torch.empty(n, 1, size, size)
    columns = torch.arange(size)
    for k in range(n):
        width = int(torch.randint(2, max(3, size // 4 + 1), (1,), generator=generator))
        phase = int(torch.randint(0, 2 * width, (1,), generator=generator))
        contrast = 0.5 + 1.5 * float(torch.rand(1, generator=generator))
        profile = contrast * (((columns + phase) // width) % 2).float()
        image = profile.expand(size, size)
        images[k, 0] = image if vertical else image.T
    return images + 0.05 * torch.randn(images.shape, generator=generator)


@exercise("1.5", "an invariant score from equivariant features")
def check_orientation_score(orientation_score: Callable, *, seed: int = 0, trials: int = 4) -> None:
    """``orientation_score(x)`` maps ``(N, 1, H, W)`` to ``(N,)``: larger for vertical stripes than
    for horizontal ones, and invariant to circular shifts (relative change ≤ 1e-4). The two kinds
    of image come in a random order, so that the position of an image tells nothing."""
    generator = torch.Generator().manual_seed(seed)
    for _ in range(trials):
        size = int(torch.randint(12, 25, (1,), generator=generator))
        vertical = stripes(8, size, vertical=True, generator=generator)
        horizontal = stripes(8, size, vertical=False, generator=generator)
        order = torch.randperm(16, generator=generator)
        x = torch.cat([vertical, horizontal])[order]
        is_vertical = order < 8
        moves = [random_pair(-size, size, generator) for _ in range(3)]
        call = f"orientation_score(x) with x of shape {tuple(x.shape)}"
        scores = as_tensor(attempt(orientation_score, x, call=call), call)
        if scores.shape != (len(x),):
            raise ExerciseError(
                f"{call} returned shape {tuple(scores.shape)}; expected ({len(x)},)"
            )
        for dy, dx in moves:
            shifted = as_tensor(attempt(orientation_score, shift(x, (dy, dx)), call=call), call)
            change = float(relative_error(shifted.to(scores.dtype), scores, batched=False)) \
                if shifted.shape == scores.shape else float("inf")
            if not change <= 1e-4:
                raise ExerciseError(
                    f"the scores changed by {change:.2g} (relative) when the images were shifted "
                    f"circularly by ({dy}, {dx}); they must stay the same. Pool over every "
                    "position (global max or mean) and pad circularly, so no pixel is special."
                )
        low, high = float(scores[is_vertical].min()), float(scores[~is_vertical].max())
        if not low > high:
            raise ExerciseError(
                f"the lowest score of a vertical-stripe image ({low:.3g}) is not above the highest "
                f"score of a horizontal-stripe image ({high:.3g}); respond to vertical edges more "
                "than to horizontal ones, e.g. with edge_kernel('vertical') and "
                "edge_kernel('horizontal'). (The images come in a random order.)"
            )
