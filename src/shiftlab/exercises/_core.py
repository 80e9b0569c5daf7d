"""The machinery every checker shares: statuses, the ``exercise`` decorator, the registry and the
summary, and the helpers of their trials: calling the learner's code safely (``attempt``: copies
of the inputs, a time limit, captured output, a plain answer), reading the answer (``as_tensor``,
``as_number``, ``as_int``), random draws, closeness, messages, the predict-then-measure steps.

A checker that calls the learner's code only through ``attempt`` and reads the answer only
through ``as_tensor`` / ``as_number`` / ``as_int`` / ``predictions`` cannot be fooled by an answer
that changes the checker's inputs, by a tensor subclass or an object that claims to equal
everything, and cannot be hung by an endless loop (``tests/exercises/test_checker_cheats.py``
tries each cheat on every registered checker).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import inspect
import io
import math
import numbers
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy
import torch

from shiftlab.metrics import relative_error

EXPECT_ENV = "SHIFTLAB_EXPECT"
"""``solved`` (solution notebooks), ``pending`` (untouched lessons) or unset (a learner)."""

TIME_LIMIT_ENV = "SHIFTLAB_TIME_LIMIT"
"""Seconds one call of the learner's code may take (default ``DEFAULT_TIME_LIMIT``)."""

DEFAULT_TIME_LIMIT = 20.0
"""The time limit of one call, in seconds: every right answer of the course takes well under a
second per call; twenty leave room for a slow machine and a slow but honest answer."""

PASSED, PENDING, FAILED = "passed", "pending", "failed"
_SYMBOL = {PASSED: "✅", PENDING: "⏳", FAILED: "❌"}
_results: dict[str, str] = {}
_printed: list[str] = []  # what the learner's code printed during the current check
_CHECKERS: dict[str, Callable[..., None]] = {}


class ExerciseError(AssertionError):
    """A wrong answer. The message says what was tried, what was expected and what came back."""


class _TimeUp(BaseException):
    """Raised into the learner's code when its time is up (a ``BaseException``, so that an
    ``except Exception`` in that code does not swallow it)."""


def expected_state() -> str:
    """What the environment expects of every exercise: ``"solved"``, ``"pending"`` or ``""``."""
    value = os.environ.get(EXPECT_ENV, "")
    if value not in ("", "solved", "pending"):
        raise ValueError(f"{EXPECT_ENV} must be 'solved', 'pending' or unset, got {value!r}")
    return value


def time_limit() -> float:
    """Seconds one call of the learner's code may take: ``SHIFTLAB_TIME_LIMIT`` or 20."""
    value = os.environ.get(TIME_LIMIT_ENV, "")
    if not value:
        return DEFAULT_TIME_LIMIT
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"{TIME_LIMIT_ENV} must be a positive number of seconds, got {value!r}")
    return seconds


def results() -> dict[str, str]:
    """Each exercise checked in this session, in order, with its status."""
    return dict(_results)


def checkers() -> dict[str, Callable[..., None]]:
    """Every checker made by ``exercise`` in the modules imported so far, by exercise name."""
    return dict(_CHECKERS)


# Calling the learner's code --------------------------------------------------------------------

def _copy(value: Any) -> Any:
    """A copy of an input for the learner: what the learner does to it cannot reach the
    checker's own (tensors, modules, lists and dicts are deep-copied; functions are shared)."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    try:
        return copy.deepcopy(value)
    except Exception:  # an object that cannot be copied (e.g. a generator) is passed as it is
        return value


def _changed(given: Any, original: Any) -> bool:
    """Whether the learner changed the tensor ``given`` (its copy of ``original``) in place."""
    if not isinstance(original, torch.Tensor):
        return False
    with torch._C.DisableTorchFunctionSubclass():
        if (not isinstance(given, torch.Tensor) or given.shape != original.shape
                or given.dtype != original.dtype):
            return True
        same = (given == original) | (given.isnan() & original.isnan())
        return not bool(same.all())


def _argument_names(answer: Callable, count: int) -> list[str]:
    try:
        names = [p.name for p in inspect.signature(answer).parameters.values()
                 if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        names = []
    return [names[k] if k < len(names) else f"number {k + 1}" for k in range(count)]


@contextlib.contextmanager
def _captured() -> Iterator[io.StringIO]:
    """Collect what is printed to stdout and stderr (``print``, warnings) into one buffer, and
    keep it for the ❌ message of the current check."""
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            yield buffer
    finally:
        if buffer.getvalue():
            _printed.append(buffer.getvalue())


def _call_with_time_limit(function: Callable, args: tuple, limit: float) -> Any:
    """``function(*args)``, interrupted after ``limit`` seconds with ``_TimeUp``.

    In the main thread of a POSIX process (a Jupyter kernel) a ``SIGALRM`` timer interrupts the
    Python code; a computation inside one long C call stops when that call returns. Elsewhere
    (Windows, another thread) the call runs in a daemon thread that is abandoned after ``limit``
    seconds (it cannot be stopped; it runs on in the background).
    """
    if hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread():
        armed = [True]

        def alarm(signum: int, frame: Any) -> None:
            if armed[0]:
                armed[0] = False
                raise _TimeUp

        started = time.monotonic()
        previous = signal.signal(signal.SIGALRM, alarm)
        outer_delay, outer_interval = signal.setitimer(signal.ITIMER_REAL, limit)
        try:
            result = function(*args)
            armed[0] = False
            return result
        finally:
            armed[0] = False
            signal.setitimer(signal.ITIMER_REAL, 0)
            if previous is not None:  # None: a handler installed outside Python, kept as it is
                signal.signal(signal.SIGALRM, previous)
            if outer_delay:  # someone else's timer was running: give back what is left of it
                left = max(outer_delay - (time.monotonic() - started), 1e-3)
                signal.setitimer(signal.ITIMER_REAL, left, outer_interval)
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = function(*args)
        except BaseException as error:  # handed to the caller's thread below
            outcome["error"] = error

    worker = threading.Thread(target=run, name="shiftlab-exercise-answer", daemon=True)
    worker.start()
    worker.join(limit)
    if worker.is_alive():
        raise _TimeUp
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def attempt(answer: Callable, *args: Any, call: str) -> Any:
    """Call the learner's ``answer(*args)`` safely and return its answer, made plain.

    - ``answer`` gets COPIES of ``args``, so the checker's own inputs (and the expected values it
      computes from them) stay as they were; a tensor the answer changed in place is reported;
    - the call is stopped after ``time_limit()`` seconds (an endless loop cannot hang a check);
    - what it prints (stdout, stderr, warnings) is captured, and shown with a ❌ message only;
    - the answer comes back plain (``plain``): tensor subclasses become ``torch.Tensor``, number
      and string subclasses their base type, so no answer can redefine ``==``;
    - an error it raises becomes an ``ExerciseError``; ``NotImplementedError`` (the lesson's
      stub) passes through, so the checker can report ⏳.

    ``call`` describes the call for the messages, e.g. ``"circular_shift(x, 1, 2)"``.
    """
    given = tuple(_copy(value) for value in args)
    limit = time_limit()
    try:
        with _captured():
            result = _call_with_time_limit(answer, given, limit)
    except (NotImplementedError, ExerciseError):
        raise
    except _TimeUp:
        raise ExerciseError(
            f"{call} did not finish within the time limit of {limit:g} s per call, so it was "
            "stopped: is there a loop that never ends? (An instructor can change the limit "
            f"with the environment variable {TIME_LIMIT_ENV}.)"
        ) from None
    except Exception as error:
        raise ExerciseError(f"{call} raised {type(error).__name__}: {error}") from error
    names = _argument_names(answer, len(args))
    for name, copied, original in zip(names, given, args, strict=True):
        if _changed(copied, original):
            raise ExerciseError(
                f"{call} changed its argument {name} in place; leave its inputs as they are and "
                "return a new tensor (work on a copy, e.g. x.clone())"
            )
    return plain(result, call)


def plain(value: Any, call: str = "your function") -> Any:
    """``value`` with every tensor a plain ``torch.Tensor`` (detached, cloned, dense) and every
    number or string of its exact built-in type, inside tuples, lists and dicts too. Objects of
    other types come back as they are, for the checker to reject by type."""
    if isinstance(value, bool | type(None)):
        return value
    if isinstance(value, torch.Tensor):
        try:
            with torch._C.DisableTorchFunctionSubclass():
                tensor = torch.Tensor.as_subclass(value, torch.Tensor).detach().clone()
                if tensor.layout != torch.strided:
                    tensor = tensor.to_dense()
        except Exception as error:
            raise ExerciseError(
                f"{call} returned a {type(value).__name__} that cannot be read as a plain "
                f"torch.Tensor ({type(error).__name__}: {error}); return a torch.Tensor"
            ) from None
        assert type(tensor) is torch.Tensor
        return tensor
    if isinstance(value, int):
        return int.__index__(value)
    if isinstance(value, float):
        return float.__float__(value)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, numpy.generic):  # a numpy scalar: its Python value
        return plain(value.item(), call)
    if isinstance(value, tuple):
        return tuple(plain(item, call) for item in tuple.__iter__(value))
    if isinstance(value, list):
        return [plain(item, call) for item in list.__iter__(value)]
    if isinstance(value, dict):
        return {plain(key, call): plain(item, call) for key, item in dict.items(value)}
    return value


def describe_value(value: object) -> str:
    """What a value is, for a message: its type, and its dtype and shape if it is a tensor."""
    if value is None:
        return "None"
    if isinstance(value, torch.Tensor):
        return f"a tensor of dtype {value.dtype} and shape {tuple(value.shape)}"
    if type(value).__module__ == "numpy":
        return f"a numpy {type(value).__name__} (convert it with torch.as_tensor)"
    if type(value) is dict:
        keys = ", ".join(repr(key) for key in list(value)[:12])
        return f"a dict with the keys [{keys}{', ...' if len(value) > 12 else ''}]"
    text = repr(value)
    text = text if len(text) <= 60 else text[:57] + "..."
    name = type(value).__name__
    if type(value) in (int, float, complex, str, list, tuple, set, dict):
        return f"{'an' if name[0] in 'aeiou' else 'a'} {name} ({text})"
    return f"an object of type {name} ({text})"


_DTYPE_WORDS = {
    "floating": "a real floating-point tensor (float32 or float64)",
    "real": "a tensor of real numbers (not complex, not bool)",
}


def as_tensor(value: object, call: str, *, dtype: torch.dtype | str | None = "floating"
              ) -> torch.Tensor:
    """``value`` as a plain ``torch.Tensor`` if it is a tensor of the expected ``dtype``; else an
    ``ExerciseError`` naming ``call``, what came and what was expected.

    ``dtype``: a ``torch.dtype`` (exactly that one), ``"floating"`` (any real floating point),
    ``"real"`` (any real number type, integers too, not bool) or ``None`` (any dtype).
    """
    if not isinstance(value, torch.Tensor):
        raise ExerciseError(f"{call} returned {describe_value(value)}; expected a torch.Tensor")
    value = plain(value, call)
    if isinstance(dtype, torch.dtype):
        ok, wanted = value.dtype == dtype, f"a tensor of dtype {dtype}"
    elif dtype == "floating":
        ok = value.is_floating_point()
        wanted = _DTYPE_WORDS[dtype]
    elif dtype == "real":
        ok = not (value.is_complex() or value.dtype == torch.bool)
        wanted = _DTYPE_WORDS[dtype]
    else:
        ok, wanted = True, ""
    if not ok:
        hint = ""
        if dtype == "floating" and not value.is_complex() and value.dtype != torch.bool:
            hint = (" (torch.tensor([1, 2]) holds integers: write 1.0, 2.0, or pass "
                    "dtype=torch.float32)")
        raise ExerciseError(
            f"{call} returned a tensor of dtype {value.dtype}; expected {wanted}{hint}")
    return value


def as_number(value: object, call: str) -> float:
    """``value`` as a float if it is one real number (a Python or numpy int or float, or a
    one-element real tensor; not a bool, not complex); else an ``ExerciseError`` naming ``call``."""
    value = plain(value, call)
    if isinstance(value, torch.Tensor):
        if value.numel() != 1 or value.is_complex() or value.dtype == torch.bool:
            raise ExerciseError(
                f"{call} returned {describe_value(value)}; expected one number (a float or a 0-dim "
                "tensor)")
        return float(value.item())
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        number = float(value)  # a plain float, whatever the type of value (e.g. a Fraction)
        if type(number) is float:
            return number
    raise ExerciseError(f"{call} returned {describe_value(value)}; expected one number (a float "
                        "or a 0-dim tensor)")


def as_int(value: object, call: str) -> int:
    """``value`` as an int if it is one integer (a Python or numpy int, or a one-element integer
    tensor; not a bool); else an ``ExerciseError`` naming ``call``."""
    value = plain(value, call)
    if (isinstance(value, torch.Tensor) and value.numel() == 1
            and not value.is_floating_point() and not value.is_complex()
            and value.dtype != torch.bool):
        return int(value.item())
    if type(value) is int:
        return value
    raise ExerciseError(f"{call} returned {describe_value(value)}; expected an int (one integer)")


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
        return (type(got) is torch.Tensor and got.shape == want.shape
                and not got.is_complex() and got.dtype != torch.bool
                and float(relative_error(got.to(want.dtype), want, batched=False)) <= tol)
    return type(got) in (int, float) and abs(got - want) <= tol


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
        raise ExerciseError(f"{call} must return a dict with the keys {sorted(keys)}, "
                            f"got {describe_value(got)}")
    kinds = {type(a) for a in allowed or ()}
    bad = {k: v for k, v in got.items()
           if allowed is not None and (type(v) not in kinds or v not in allowed)}
    if bad:
        raise ExerciseError(f"every answer must be one of {allowed}, got {bad}")
    return got


def disagreements(wrong: list[str], total: int, what: str) -> None:
    """The *measure* step's verdict: an ``ExerciseError`` listing the ``wrong`` answers, if any,
    as "``len(wrong)`` of ``total`` ``what``", e.g. "predictions disagree with the measurement"."""
    if wrong:
        raise ExerciseError(f"{len(wrong)} of {total} {what}:\n" + "\n".join(wrong))


def _printed_text(lines: int = 20) -> str:
    """The last ``lines`` lines the learner's code printed in this check, for a ❌ message."""
    text = "".join(_printed).rstrip("\n")
    if not text:
        return ""
    shown = text.splitlines()[-lines:]
    more = " (its last lines)" if len(text.splitlines()) > lines else ""
    return f"\n\nYour code printed{more}:\n" + "\n".join("  " + line for line in shown)


def exercise(number: str, title: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Turn ``check(answer, ...)``, which raises ``ExerciseError`` when wrong, into a checker.

    The checker prints ✅ or ⏳ (on stdout only: nbgrader fails a cell that writes to stderr),
    re-raises a wrong answer with the exercise's name and what the learner's code printed,
    records the status for ``summary``, enforces ``SHIFTLAB_EXPECT``, returns ``None`` (nbgrader
    would take a returned number for partial credit) and is listed in ``checkers()``. An error
    of the check itself on a strange answer (say, a ``TypeError``) becomes a ❌ too.
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
            _printed.clear()
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
                return None
            except ExerciseError as error:
                _results[name] = FAILED
                raise ExerciseError(f"❌ {name}: {error}{_printed_text()}") from error.__cause__
            except Exception as error:
                _results[name] = FAILED
                raise ExerciseError(
                    f"❌ {name}: your answer could not be checked: the check stopped with "
                    f"{type(error).__name__}: {error}. Return what the exercise asks for (the "
                    f"type, dtype and shape it names).{_printed_text()}"
                ) from error
            finally:
                _printed.clear()
            _results[name] = PASSED
            print(f"✅ {name}: passed")
            if expected_state() == "pending":
                raise ExerciseError(
                    f"❌ {name} passed in an untouched lesson, so the lesson contains a solution: "
                    "put it between # BEGIN SOLUTION and # END SOLUTION in solutions/ and "
                    "regenerate the lessons with `python -m shiftlab.book.authoring lessons`"
                )
            return None

        checker.exercise_name = name  # type: ignore[attr-defined]
        _CHECKERS[name] = checker
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
