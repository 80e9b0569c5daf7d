"""The machinery every checker shares: statuses, the ``exercise`` decorator and the summary, and
the helpers of their trials: random draws, closeness, messages, the predict-then-measure steps."""

from __future__ import annotations

import functools
import numbers
import os
from collections.abc import Callable, Iterable
from typing import Any

import torch

from shiftlab.metrics import relative_error

EXPECT_ENV = "SHIFTLAB_EXPECT"
"""``solved`` (solution notebooks), ``pending`` (untouched lessons) or unset (a learner)."""

PASSED, PENDING, FAILED = "passed", "pending", "failed"
_SYMBOL = {PASSED: "✅", PENDING: "⏳", FAILED: "❌"}
_results: dict[str, str] = {}


class ExerciseError(AssertionError):
    """A wrong answer. The message says what was tried, what was expected and what came back."""


def expected_state() -> str:
    """What the environment expects of every exercise: ``"solved"``, ``"pending"`` or ``""``."""
    value = os.environ.get(EXPECT_ENV, "")
    if value not in ("", "solved", "pending"):
        raise ValueError(f"{EXPECT_ENV} must be 'solved', 'pending' or unset, got {value!r}")
    return value


def results() -> dict[str, str]:
    """Each exercise checked in this session, in order, with its status."""
    return dict(_results)


def attempt(answer: Callable, *args: Any, call: str) -> Any:
    """Call the learner's ``answer(*args)``; an error it raises becomes an ``ExerciseError``.

    ``call`` describes the call for the message, e.g. ``"circular_shift(x, 1, 2)"``.
    ``NotImplementedError`` (the lesson's stub) passes through, so the checker can report ⏳.
    """
    try:
        return answer(*args)
    except (NotImplementedError, ExerciseError):
        raise
    except Exception as error:
        raise ExerciseError(f"{call} raised {type(error).__name__}: {error}") from error


def as_tensor(value: object, call: str) -> torch.Tensor:
    """``value`` if it is a ``torch.Tensor``; else an ``ExerciseError`` naming ``call``."""
    if not isinstance(value, torch.Tensor):
        raise ExerciseError(f"{call} returned {type(value).__name__}; expected a torch.Tensor")
    return value


def as_number(value: object, call: str) -> float:
    """``value`` as a float if it is one number (a real number or a one-element tensor, not a
    bool); else an ``ExerciseError`` naming ``call``."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return float(value)
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    raise ExerciseError(f"{call} returned {value!r}; expected one number (a float or 0-dim tensor)")


def random_int(low: int, high: int, generator: torch.Generator) -> int:
    """One random integer in ``[low, high]``, drawn from ``generator``."""
    return int(torch.randint(low, high + 1, (1,), generator=generator))


def random_pair(low: int, high: int, generator: torch.Generator) -> tuple[int, int]:
    """Two random integers in ``[low, high]``, drawn together from ``generator``."""
    first, second = torch.randint(low, high + 1, (2,), generator=generator).tolist()
    return first, second


def close(got: torch.Tensor | float, want: torch.Tensor | float, tol: float = 1e-9) -> bool:
    """Whether an answer matches the reference: tensors of one shape within a relative error of
    ``tol`` (``‖got − want‖ ≤ tol ‖want‖``), numbers within ``tol`` of each other."""
    if isinstance(want, torch.Tensor):
        return (isinstance(got, torch.Tensor) and got.shape == want.shape
                and float(relative_error(got, want, batched=False)) <= tol)
    return abs(got - want) <= tol


def grid_text(x: torch.Tensor) -> str:
    """A small tensor as rows of numbers, for messages (the first map of a batch)."""
    if x.dim() == 4:
        return f"(first channel of sample 0)\n{grid_text(x[0, 0])}"
    return "\n".join("  " + " ".join(f"{float(v):6.3g}" for v in row) for row in x)


def predictions(answer: Callable[[], Any], keys: Iterable, *, call: str = "my_predictions()",
                allowed: tuple | None = None) -> dict:
    """The *predict* step of a predict-then-measure exercise: the learner's ``answer()``, checked
    to be a dict with exactly ``keys`` (and, given ``allowed``, only those answers)."""
    keys = list(keys)
    got = attempt(answer, call=call)
    if not isinstance(got, dict) or set(got) != set(keys):
        raise ExerciseError(f"{call} must return a dict with the keys {sorted(keys)}, got {got!r}")
    bad = {k: v for k, v in got.items() if allowed is not None and v not in allowed}
    if bad:
        raise ExerciseError(f"every answer must be one of {allowed}, got {bad}")
    return got


def disagreements(wrong: list[str], total: int, what: str) -> None:
    """The *measure* step's verdict: an ``ExerciseError`` listing the ``wrong`` answers, if any,
    as "``len(wrong)`` of ``total`` ``what``", e.g. "predictions disagree with the measurement"."""
    if wrong:
        raise ExerciseError(f"{len(wrong)} of {total} {what}:\n" + "\n".join(wrong))


def exercise(number: str, title: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Turn ``check(answer, ...)``, which raises ``ExerciseError`` when wrong, into a checker.

    The checker prints ✅ or ⏳, re-raises a wrong answer with the exercise's name, records the
    status for ``summary`` and enforces ``SHIFTLAB_EXPECT``.
    """

    def decorate(check: Callable[..., None]) -> Callable[..., None]:
        name = f"Exercise {number}: {title}"

        @functools.wraps(check)
        def checker(answer: Any, *args: Any, **kwargs: Any) -> None:
            if not callable(answer):
                _results[name] = FAILED
                raise ExerciseError(
                    f"❌ {name}: pass your function itself (without calling it), got "
                    f"{type(answer).__name__}"
                )
            try:
                check(answer, *args, **kwargs)
            except NotImplementedError:
                _results[name] = PENDING
                print(f"⏳ {name}: not attempted yet "
                      "(replace the `raise NotImplementedError` line)")
                if expected_state() == "solved":
                    raise ExerciseError(
                        f"❌ {name} is still a stub in a solution notebook: write the solution "
                        "between # BEGIN SOLUTION and # END SOLUTION"
                    ) from None
                return
            except ExerciseError as error:
                _results[name] = FAILED
                raise ExerciseError(f"❌ {name}: {error}") from error.__cause__
            _results[name] = PASSED
            print(f"✅ {name}: passed")
            if expected_state() == "pending":
                raise ExerciseError(
                    f"❌ {name} passed in an untouched lesson, so the lesson contains a solution: "
                    "put it between # BEGIN SOLUTION and # END SOLUTION in solutions/ and "
                    "regenerate the lessons with `python -m shiftlab.book.authoring lessons`"
                )

        checker.exercise_name = name  # type: ignore[attr-defined]
        return checker

    return decorate


def summary() -> None:
    """Print every exercise checked in this session with its status; enforce ``SHIFTLAB_EXPECT``."""
    done = sum(status == PASSED for status in _results.values())
    print(f"Exercises checked in this session: {done} of {len(_results)} passed")
    for name, status in _results.items():
        print(f"  {_SYMBOL[status]} {name} ({status})")
    mode = expected_state()
    if mode and not _results:
        raise ExerciseError("no exercise was checked: every exercise needs a check cell")
    wanted = {"solved": PASSED, "pending": PENDING}.get(mode)
    wrong = [name for name, status in _results.items() if wanted and status != wanted]
    if wrong:
        raise ExerciseError(f"{EXPECT_ENV}={mode} but these exercises are not {wanted}: {wrong}")
