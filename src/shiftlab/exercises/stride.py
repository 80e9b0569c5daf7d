"""Checkers for chapter 3, stride and subgroups.

Each checker draws its trials from a seeded generator (shapes, strides, shifts, images, network
weights), so a notebook shows the same output on every run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch

from shiftlab import _validate
from shiftlab.exercises._core import (
    ExerciseError,
    as_tensor,
    attempt,
    describe_value,
    disagreements,
    exercise,
    predictions,
    random_int,
)
from shiftlab.layers import conv2d, global_avg_pool
from shiftlab.metrics import exact_tolerance, fraction_exact, invariance_error
from shiftlab.models import ConvNet, ConvNetConfig
from shiftlab.stride import (
    downsample,
    phase_after_shift,
    polyphase,
    shifted_copy_bound,
    shifted_copy_error,
)
from shiftlab.transforms import Shift, shift


def _as_pair(value: object, name: str, call: str) -> tuple[int, int]:
    if isinstance(value, torch.Tensor) and not value.is_floating_point() and not value.is_complex():
        value = value.tolist()
    if (not isinstance(value, tuple | list) or len(value) != 2
            or not all(type(v) is int for v in value)):
        raise ExerciseError(f"{call} gave {name} = {describe_value(value)}; expected a pair of "
                            "ints (y, x)")
    return int(value[0]), int(value[1])


# Exercise 3.1 ---------------------------------------------------------------------------------

@exercise("3.1", "the polyphase decomposition")
def check_polyphase(my_polyphase: Callable, *, seed: int = 0, trials: int = 30) -> None:
    """``my_polyphase(x, s)`` must equal ``stride.polyphase(x, s)``: shape ``(..., s, s, h, w)``
    with ``p[..., a_y, a_x, i, j] = x[..., s·i + a_y, s·j + a_x]``."""
    generator = torch.Generator().manual_seed(seed)
    for trial in range(trials):
        s = random_int(1, 4, generator) if trial else 2
        height, width = s * random_int(1, 4, generator), s * random_int(1, 4, generator)
        if trial == 0:
            height, width = 4, 6  # small and not square, so every mix-up shows
        shape = (height, width) if trial % 2 == 0 else (2, 3, height, width)
        original = x = torch.arange(torch.Size(shape).numel(), dtype=torch.float32).reshape(shape)
        want = polyphase(original, s)
        call = f"my_polyphase(x, s={s}) with x of shape {shape}"
        got = as_tensor(attempt(my_polyphase, x, s, call=call), call, dtype=x.dtype)
        if got.shape != want.shape:
            hint = ""
            if got.numel() == want.numel() and got.dim() == want.dim() - 1:
                hint = (" Keep the two offsets as two axes: p[..., a_y, a_x, i, j], not one "
                        "axis of s·s components.")
            raise ExerciseError(
                f"{call} returned shape {tuple(got.shape)}; expected {tuple(want.shape)}, "
                f"i.e. (..., s, s, H/s, W/s).{hint}"
            )
        if torch.equal(got, want):
            continue
        hint = ""
        if torch.equal(got, want.transpose(-4, -3)):
            hint = ("The offsets are swapped: p[..., a_y, a_x] starts at row a_y and column a_x, "
                    "the row offset first.")
        elif _is_blocks(got, original, s):
            hint = ("These are s x s tiles of the image (blocks of neighbouring pixels). A "
                    "polyphase component takes every s-th pixel: x[..., a_y::s, a_x::s].")
        else:
            hint = "Component (a_y, a_x) is x[..., a_y::s, a_x::s]."
        sample = (..., 0, 1) if s > 1 else (..., 0, 0)
        raise ExerciseError(
            f"{call} is wrong. For x = arange(...).reshape{shape}, component (0, "
            f"{1 if s > 1 else 0}) should be\n{_rows(want[sample])}\ngot\n{_rows(got[sample])}"
            f"\n{hint}"
        )


def _is_blocks(got: torch.Tensor, x: torch.Tensor, s: int) -> bool:
    height, width = x.shape[-2:]
    h, w = height // s, width // s
    blocks = x.reshape(*x.shape[:-2], s, h, s, w).movedim(-2, -3)
    return torch.equal(got, blocks)


def _rows(x: torch.Tensor) -> str:
    if x.dim() > 2:
        return _rows(x.reshape(-1, *x.shape[-2:])[0])
    return "\n".join("  " + " ".join(f"{float(v):4.0f}" for v in row) for row in x)


# Exercise 3.2 ---------------------------------------------------------------------------------

@exercise("3.2", "which samples does a stride keep after a shift?")
def check_kept_component(kept_component: Callable, *, seed: int = 0, trials: int = 40) -> None:
    """``kept_component(t, s)`` returns ``(r, q)`` with ``downsample(shift(x, t), s) ==
    shift(polyphase(x, s)[r], q)``; ``r`` in ``{0..s-1}^2``, ``q`` any shift that works."""
    generator = torch.Generator().manual_seed(seed)
    for trial in range(trials):
        s = random_int(2, 4, generator)
        t = (random_int(-9, 9, generator), random_int(-9, 9, generator))
        if trial < 4:  # start with the simplest cases
            t = [(0, 1), (1, 0), (2, 2), (0, 3)][trial]
            s = 2
        size = 6 * s
        x = torch.arange(size * size, dtype=torch.float32).reshape(size, size)
        (r_want, q_want) = phase_after_shift((0, 0), t, s)
        kept = downsample(shift(x, t), s)
        call = f"kept_component(t={t}, s={s})"
        answer = attempt(kept_component, t, s, call=call)
        if not isinstance(answer, tuple | list) or len(answer) != 2:
            raise ExerciseError(f"{call} returned {describe_value(answer)}; expected a pair (r, q)")
        r, q = _as_pair(answer[0], "r", call), _as_pair(answer[1], "q", call)
        if all(0 <= v < s for v in r) and torch.equal(kept, shift(polyphase(x, s)[r], q)):
            continue
        hint = ""
        if r == (t[0] % s, t[1] % s) and r != r_want:
            hint = ("r has the wrong sign: the content moves by +t, so the pixel that lands on "
                    "the grid at 0 came from -t: r = (-t) mod s.")
        elif r == r_want and q == (t[0] // s, t[1] // s):
            hint = ("r is right, q is rounded the wrong way: the component moves by "
                    "(t + r) / s, which is t / s rounded up.")
        elif r == r_want:
            hint = "r is right; q must make the two sides equal: q = (t + r) / s per axis."
        elif r == r_want[::-1] != r_want:
            hint = "The axes are swapped: t = (dy, dx), r = (r_y, r_x)."
        elif not all(0 <= v < s for v in r):
            hint = f"r must be a component index, each entry in 0 ... {s - 1}."
        raise ExerciseError(
            f"{call} returned r = {r}, q = {q}; expected r = {r_want}, q = {q_want} "
            f"(downsample(shift(x, t), s) == shift(polyphase(x, s)[r], q)). {hint}"
        )


# Exercise 3.3 ---------------------------------------------------------------------------------

def _two_strided_convolutions(x: torch.Tensor, *, absolute: bool = False) -> torch.Tensor:
    """Two stride-2 convolutions with a ReLU between; with ``absolute``, their magnitude network
    (absolute weights), which bounds the rounding."""
    generator = torch.Generator().manual_seed(3)
    first = torch.randn(4, 1, 3, 3, generator=generator, dtype=x.dtype)
    second = torch.randn(4, 4, 3, 3, generator=generator, dtype=x.dtype)
    if absolute:
        first, second = first.abs(), second.abs()
    return conv2d(torch.relu(conv2d(x, first, stride=2)), second, stride=2)


@dataclass(frozen=True)
class CopyCase:
    """One (map, shift) pair: is ``f(T_t x)`` an exact shifted copy of ``f(x)``?

    ``magnitude`` and ``terms`` give its rounding bound (``shifted_copy_bound``); a map without
    them only moves numbers, and "exact" is then an error of 0."""

    description: str
    f: Callable[[torch.Tensor], torch.Tensor]
    t: tuple[int, int]
    why: str
    magnitude: Callable[[torch.Tensor], torch.Tensor] | None = None
    terms: int = 1

    def __post_init__(self) -> None:
        _validate.text(self.description, "description")
        _validate.function(self.f, "f")
        _validate.offset(self.t)
        _validate.text(self.why, "why")
        if self.magnitude is not None:
            _validate.function(self.magnitude, "magnitude")
        _validate.positive_int(self.terms, "terms")


def _stride(s: int) -> Callable[[torch.Tensor], torch.Tensor]:
    return lambda x: downsample(x, s)


_IN_GROUP = "t is in {s}Z x {s}Z, so the output moves by t / {s} = {q}"
_OUT_GROUP = ("t is not in {s}Z x {s}Z: the stride keeps another polyphase component, "
              "independent of the first for random inputs")
COPY_CASES: dict[str, CopyCase] = {
    "a": CopyCase("stride 2, t = (0, 1)", _stride(2), (0, 1), _OUT_GROUP.format(s=2)),
    "b": CopyCase("stride 2, t = (2, 4)", _stride(2), (2, 4),
                  _IN_GROUP.format(s=2, q=(1, 2))),
    "c": CopyCase("stride 2, t = (3, 3)", _stride(2), (3, 3), _OUT_GROUP.format(s=2)),
    "d": CopyCase("stride 2, t = (2, 1)", _stride(2), (2, 1),
                  "both offsets must be even; dx = 1 is not"),
    "e": CopyCase("stride 3, t = (3, 6)", _stride(3), (3, 6),
                  _IN_GROUP.format(s=3, q=(1, 2))),
    "f": CopyCase("stride 3, t = (4, 4)", _stride(3), (4, 4), _OUT_GROUP.format(s=3)),
    "g": CopyCase("two stride-2 convolutions with a ReLU between, t = (2, 2)",
                  _two_strided_convolutions, (2, 2),
                  "the first layer turns it into a shift by (1, 1), which the second stride "
                  "does not keep: two stride-2 layers keep only 4Z x 4Z",
                  partial(_two_strided_convolutions, absolute=True), 9 + 36),
    "h": CopyCase("two stride-2 convolutions with a ReLU between, t = (4, 8)",
                  _two_strided_convolutions, (4, 8),
                  "t is in 4Z x 4Z: (2, 4) after the first layer, (1, 2) after the second",
                  partial(_two_strided_convolutions, absolute=True), 9 + 36),
}


def measure_copy_fraction(case: CopyCase, *, n: int = 200, seed: int = 0) -> float:
    """Fraction of ``n`` random 24x24 images for which ``f(T_t x)`` is an exact shifted copy:
    within the rounding bound of the case (0 for pure data movement)."""
    if not isinstance(case, CopyCase):
        raise TypeError(f"case must be a CopyCase, got {type(case).__name__}")
    n = _validate.positive_int(n, "n", high=10_000)
    generator = torch.Generator().manual_seed(_validate.integer(seed, "seed"))
    x = torch.randn(n, 1, 24, 24, generator=generator)
    errors = shifted_copy_error(case.f, x, case.t)
    if case.magnitude is None:
        return fraction_exact(errors, 0.0)
    return fraction_exact(errors, shifted_copy_bound(case.f, case.magnitude, x, case.t,
                                                     case.terms))


@exercise("3.3", "predict, then measure: exact copies at each shift")
def check_copy_predictions(my_copy_fractions: Callable[[], dict[str, float]]) -> None:
    """``my_copy_fractions()`` returns ``{name: fraction}`` for every case in ``COPY_CASES``:
    the predicted fraction of random inputs whose output is an exact shifted copy."""
    cases = dict(COPY_CASES)  # the questions, fixed before the learner's code runs
    answers = predictions(my_copy_fractions, cases, call="my_copy_fractions()")
    bad = {k: v for k, v in answers.items()
           if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 1}
    if bad:
        raise ExerciseError(f"every prediction must be a fraction between 0 and 1, got {bad}")
    wrong = []
    for name, case in cases.items():
        measured = measure_copy_fraction(case)
        if abs(answers[name] - measured) > 0.05:
            wrong.append(f"  {name}: {case.description}: you said {answers[name]:.0%}, "
                         f"measured {measured:.0%}: {case.why}.")
    disagreements(wrong, len(COPY_CASES), "predictions are off by more than 5 points "
                  "(measured on 200 random 24x24 images)")


# Exercise 3.4 ---------------------------------------------------------------------------------

SIZE = 24
"""Side of the images the networks of exercise 3.4 take: a multiple of 1, 2, 3, 4, 6 and 8."""


@dataclass(frozen=True)
class Network:
    """A network whose shift subgroup the learner measures, with the answer by construction."""

    description: str
    build: Callable[[int], Callable[[torch.Tensor], torch.Tensor]]  # seed -> network
    steps: tuple[int, int]
    why: str

    def __post_init__(self) -> None:
        _validate.text(self.description, "description")
        _validate.function(self.build, "build")
        _validate.offset(self.steps, "steps")
        _validate.text(self.why, "why")


def _convnet(**config: object) -> Callable[[int], ConvNet]:
    return lambda seed: ConvNet(ConvNetConfig(**config), seed=seed)  # type: ignore[arg-type]


def _stride_3_then_2(seed: int) -> Callable[[torch.Tensor], torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    first = torch.randn(4, 1, 3, 3, generator=generator)
    second = torch.randn(4, 4, 3, 3, generator=generator)

    def network(x: torch.Tensor) -> torch.Tensor:
        hidden = torch.relu(conv2d(x, first, stride=3))
        return global_avg_pool(torch.relu(conv2d(hidden, second, stride=2)))

    return network


def _columns_then_convnet(seed: int) -> Callable[[torch.Tensor], torch.Tensor]:
    net = ConvNet(ConvNetConfig(channels=(4,), stride=2), seed=seed)
    return lambda x: net(x[..., :, ::2])


NETWORKS: dict[str, Network] = {
    "A": Network("ConvNet, two stride-1 layers, circular padding",
                 _convnet(channels=(4, 4)), (1, 1),
                 "circular stride-1 layers are equivariant to every shift, the global pool "
                 "makes that invariance"),
    "B": Network("ConvNet, one stride-2 layer", _convnet(channels=(4,), stride=2), (2, 2),
                 "one stride 2 keeps 2Z x 2Z"),
    "C": Network("ConvNet, three stride-2 layers", _convnet(channels=(4, 4, 4), stride=2),
                 (8, 8), "three stride-2 layers keep 2^3 Z x 2^3 Z"),
    "D": Network("ConvNet, two stride-1 layers each followed by 2x2 max pooling",
                 _convnet(channels=(4, 4), local_pool=True), (4, 4),
                 "each 2x2 max pool has stride 2, like a strided layer: 4Z x 4Z"),
    "E": Network("a stride-3 convolution, then a stride-2 convolution", _stride_3_then_2,
                 (6, 6), "strides multiply: 3 · 2 = 6"),
    "F": Network("every second column, then ConvNet with one stride-2 layer",
                 _columns_then_convnet, (2, 4),
                 "the columns are subsampled twice (2 · 2 = 4), the rows once"),
    "G": Network("ConvNet, two stride-1 layers, zero padding ('same')",
                 _convnet(channels=(4, 4), padding="same"), (SIZE, SIZE),
                 "zeros at the border make every pixel position special (chapter 5): only the "
                 f"trivial shift by the image size {SIZE} leaves it unchanged"),
}


@exercise("3.4", "find the subgroup of shifts a network is invariant to")
def check_invariance_steps(invariance_steps: Callable, *, seed: int = 0) -> None:
    """``invariance_steps(f, size)`` returns ``(step_y, step_x)``, the smallest positive shifts
    along each axis to which ``f`` (on ``(N, 1, size, size)`` images) is exactly invariant."""
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(NETWORKS), generator=generator).tolist()
    names = list(NETWORKS)
    for k in order:
        name = names[k]
        network = NETWORKS[name]
        f = network.build(random_int(0, 10_000, generator))
        call = f"invariance_steps(network {name}, size={SIZE})"
        steps = _as_pair(attempt(invariance_steps, f, SIZE, call=call), "(step_y, step_x)", call)
        if steps == network.steps:
            continue
        hint = ""
        if steps == network.steps[::-1]:
            hint = " The axes are swapped: step_y is for shifts (d, 0), step_x for (0, d)."
        elif any(v > SIZE or v < 1 for v in steps):
            hint = f" A step lies in 1 ... {SIZE}: the shift by the image size is the identity."
        raise ExerciseError(
            f"{call} for {network.description}: got {steps}, expected {network.steps}, because "
            f"{network.why}. Measure the invariance error on a few random images for the "
            f"shifts (d, 0) and (0, d), d = 1, 2, ..., and call ≤ "
            f"{exact_tolerance(torch.float32):.1e} exact.{hint}"
        )


def measured_steps(f: Callable[[torch.Tensor], torch.Tensor], size: int = SIZE) -> tuple[int, int]:
    """The reference measurement behind exercise 3.4 (used by the tests)."""
    _validate.function(f, "f")
    size = _validate.positive_int(size, "size", high=256)
    x = torch.randn(8, 1, size, size, generator=torch.Generator().manual_seed(0))
    tol = exact_tolerance(torch.float32)

    def step(axis: int) -> int:
        for d in range(1, size + 1):
            g = Shift(d, 0) if axis == 0 else Shift(0, d)
            if invariance_error(f, x, g).max() <= tol:
                return d
        return size  # pragma: no cover - the shift by the size is the identity

    return step(0), step(1)
