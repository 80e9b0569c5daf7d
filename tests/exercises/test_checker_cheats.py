"""Every cheat of issue 15, tried on every checker: none of them passes, and the learner is told
what came and what was expected.

Each cheat is built from a checker's right answer (the ``CHECKS`` lists of the chapters' test
modules, found by name; ``test_checker_contract`` makes sure every registered checker has one),
so a new chapter's checkers are tried as soon as its test module lists them. A cheat that does
not apply to a checker (no tensor to disguise, no input to change) is skipped for it.
"""

import numbers
import signal
import sys
import threading
import time

import numpy as np
import pytest
import torch
from checkers import right_answers
from torch import nn

from shiftlab.exercises import _core, invariance
from shiftlab.exercises._core import TIME_LIMIT_ENV, ExerciseError, attempt

CHECKS = right_answers()


def fails(check, answer) -> str:
    """The ❌ message of ``check(answer)``; the test fails if the answer passed."""
    try:
        check(answer)
    except ExerciseError as error:
        message = str(error)
    else:
        pytest.fail(f"the cheat passed: {_core.results()}")
    assert message.startswith("❌ Exercise ")
    assert list(_core.results().values()) == ["failed"]
    return message


def first_call(answer, cheat):
    """A cheat built from ``answer``'s output, with a record of what it met: ``cheat(answer)``
    is called with the output of the right answer (and the arguments)."""
    seen = []

    def cheating(*args):
        out = answer(*args)
        seen.append(out)
        return cheat(out)

    return cheating, seen


def leaves(value, leaf):
    """``value`` with ``leaf`` applied to everything that is not a dict, tuple or list."""
    if isinstance(value, dict):
        return {key: leaves(item, leaf) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return type(value)(leaves(item, leaf) for item in value)
    return leaf(value)


def has_leaf(value, test) -> bool:
    if isinstance(value, dict):
        return any(has_leaf(item, test) for item in value.values())
    if isinstance(value, tuple | list):
        return any(has_leaf(item, test) for item in value)
    return test(value)


def wrong(value):
    """A wrong answer of the same type: negated and moved, or flipped."""
    if isinstance(value, torch.Tensor):
        if value.dtype == torch.bool:
            return ~value
        return -value - 1 if value.is_floating_point() else value + 1
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, numbers.Real):  # float, Fraction, numpy scalar
        return -float(value) - 0.5
    if isinstance(value, str):
        return value + " (or not)"
    return value


# The disguises ---------------------------------------------------------------------------------

class AlwaysEqual:
    """An object that claims to equal, and to be as close as you like to, everything."""

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = object.__hash__

    def __sub__(self, other):
        return 0.0

    __rsub__ = __sub__

    def __abs__(self):
        return 0.0

    def __le__(self, other):
        return True

    __ge__ = __le__


_CLAIMS_EQUAL = {torch.equal, torch.Tensor.equal, torch.allclose, torch.Tensor.allclose}
_ELEMENTS_EQUAL = {torch.eq, torch.Tensor.eq, torch.Tensor.__eq__, torch.isclose,
                   torch.Tensor.isclose}
_DIFFERENCES = {torch.sub, torch.Tensor.sub, torch.Tensor.__sub__, torch.Tensor.__rsub__}


class LyingTensor(torch.Tensor):
    """A tensor whose ``__torch_function__`` says it equals any tensor (``torch.equal``,
    ``allclose``, ``==``) and differs from it by zero."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in _CLAIMS_EQUAL:
            return True
        with torch._C.DisableTorchFunctionSubclass():
            result = func(*args, **kwargs)
        if func in _ELEMENTS_EQUAL:
            return torch.ones_like(result, dtype=torch.bool)
        if func in _DIFFERENCES:
            return torch.zeros_like(result)
        return result


class LyingFloat(float):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = float.__hash__

    def __sub__(self, other):
        return 0.0

    __rsub__ = __sub__

    def __abs__(self):
        return 0.0


class LyingInt(int):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = int.__hash__


class LyingStr(str):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = str.__hash__


def lying(value):
    """``wrong(value)`` dressed to claim that it equals the right answer."""
    bad = wrong(value)
    if isinstance(value, torch.Tensor):
        return bad.as_subclass(LyingTensor)
    if isinstance(value, bool):
        return bad
    if isinstance(value, int):
        return LyingInt(bad)
    if isinstance(value, numbers.Real):
        return LyingFloat(bad)
    if isinstance(value, str):
        return LyingStr(bad)
    return bad


def disguisable(value) -> bool:
    return isinstance(value, torch.Tensor | numbers.Real | str) and not isinstance(value, bool)


def test_the_disguises_would_fool_a_naive_check():
    liar = lying(torch.zeros(3))
    assert torch.equal(liar, torch.ones(3)) and torch.allclose(liar, torch.ones(3))
    assert bool((liar == torch.ones(3)).all())
    assert LyingFloat(2.0) == 1.0 and abs(LyingFloat(2.0) - 1.0) <= 0
    assert LyingStr("neither") in ("invariant", "equivariant")
    assert AlwaysEqual() == torch.ones(2) and AlwaysEqual() in (1, 2, 4, 8)


# Cheats that claim to be right -----------------------------------------------------------------

@pytest.mark.parametrize("where", ["whole answer", "every value in it"])
@pytest.mark.parametrize(("check", "answer"), CHECKS)
def test_an_object_whose_eq_is_always_true_fails(check, answer, where):
    replace = (lambda out: AlwaysEqual()) if where == "whole answer" else (
        lambda out: leaves(out, lambda value: AlwaysEqual()))
    cheat, _ = first_call(answer, replace)
    message = fails(check, cheat)
    assert "AlwaysEqual" in message or "must" in message or "expected" in message


@pytest.mark.parametrize(("check", "answer"), CHECKS)
def test_a_wrong_answer_disguised_as_a_subclass_that_claims_equality_fails(check, answer):
    """Tensors as a subclass whose ``__torch_function__`` makes ``torch.equal`` true, numbers and
    strings as subclasses whose ``==`` is always true; inside them, a wrong answer."""
    cheat, seen = first_call(answer, lambda out: leaves(out, lying))
    try:
        check(cheat)
    except ExerciseError:
        pass
    else:
        pytest.fail("the disguised wrong answer passed")
    if not has_leaf(seen[0], disguisable):
        pytest.skip("the answer holds only bools, which cannot be subclassed")


# Cheats that change the checker's inputs -------------------------------------------------------

def spoil(value, spoiled: list[str]) -> None:
    """Change ``value`` in place, as a cheat that hopes the checker reuses it: zero a tensor or
    a network's weights, empty a list."""
    if isinstance(value, torch.Tensor):
        value.zero_()
        spoiled.append("tensor")
    elif isinstance(value, nn.Module):
        with torch.no_grad():
            for tensor in [*value.parameters(), *value.buffers()]:
                tensor.zero_()
        spoiled.append("network")
    elif isinstance(value, list):
        value.clear()
        spoiled.append("list")


@pytest.mark.parametrize(("check", "answer"), CHECKS)
def test_an_answer_that_changes_its_inputs_fails(check, answer):
    """The cheat zeroes its inputs in place and answers for the zeroed inputs: right if the
    checker computed its expected value afterwards from the same inputs."""
    spoiled: list[str] = []

    def cheat(*args):
        for value in args:
            spoil(value, spoiled)
        return answer(*args)

    try:
        check(cheat)
    except ExerciseError as error:
        message = str(error)
    else:
        if not spoiled:
            pytest.skip("the answer gets no tensor, network or list to change")
        pytest.fail(f"an answer that changed its inputs ({spoiled}) passed")
    if spoiled and spoiled[0] == "tensor" and "raised" not in message:
        assert "in place" in message


# Cheats of type and dtype ----------------------------------------------------------------------

@pytest.mark.parametrize(("check", "answer"), CHECKS)
def test_an_int64_tensor_is_reported_with_its_dtype(check, answer):
    def as_int64(value):
        return value.to(torch.int64) if isinstance(value, torch.Tensor) else value

    cheat, seen = first_call(answer, lambda out: leaves(out, as_int64))
    try:
        check(cheat)
    except ExerciseError as error:
        message = str(error)
    else:
        message = None
    out = seen[0] if seen else None
    if not has_leaf(out, lambda v: isinstance(v, torch.Tensor)):
        pytest.skip("the answer holds no tensor")
    if isinstance(out, torch.Tensor) and out.numel() == 1:
        pytest.skip("a one-element tensor is a number, and an integer is a number")
    assert message is not None, "an int64 tensor passed"
    assert "int64" in message


@pytest.mark.parametrize(("check", "answer"), CHECKS)
def test_a_complex_answer_is_reported(check, answer):
    def as_complex(value):
        if isinstance(value, torch.Tensor):
            return value.to(torch.complex64)
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            return complex(value)
        return value

    cheat, seen = first_call(answer, lambda out: leaves(out, as_complex))
    try:
        check(cheat)
    except ExerciseError as error:
        message = str(error)
    else:
        message = None
    out = seen[0] if seen else None
    if not has_leaf(out, lambda v: disguisable(v) and not isinstance(v, str)):
        pytest.skip("the answer holds no tensor and no number")
    assert message is not None, "a complex answer passed"
    if isinstance(out, torch.Tensor | numbers.Real):
        assert "complex" in message


@pytest.mark.parametrize(("wrong_answer", "named"), [
    (None, "None"),
    ("42", "str"),
], ids=["None", "a string"])
@pytest.mark.parametrize(("check", "answer"), CHECKS)
def test_a_wrong_return_type_is_reported(check, answer, wrong_answer, named):
    message = fails(check, lambda *args: wrong_answer)
    assert named in message
    assert "expected" in message or "must" in message


@pytest.mark.parametrize(("check", "answer"), CHECKS)
def test_a_numpy_array_instead_of_a_tensor_is_reported(check, answer):
    cheat, seen = first_call(answer, lambda out: leaves(
        out, lambda v: v.numpy() if isinstance(v, torch.Tensor) else v))
    try:
        check(cheat)
    except ExerciseError as error:
        message = str(error)
    else:
        message = None
    if not isinstance(seen[0] if seen else None, torch.Tensor):
        pytest.skip("the answer is not a tensor")
    if seen[0].numel() == 1:
        pytest.skip("a one-element array is a number")
    assert message is not None, "a numpy array passed"
    assert "numpy" in message


# Cheats of time --------------------------------------------------------------------------------

@pytest.fixture
def stop():
    """An event that ends the endless loops of a test when it is over (a loop run in a thread
    that the checker abandoned would otherwise spin on)."""
    event = threading.Event()
    yield event
    event.set()


@pytest.mark.parametrize("catches", [False, True], ids=["plain loop", "loop that catches"])
@pytest.mark.parametrize(("check", "answer"), CHECKS)
def test_an_endless_loop_is_stopped_after_the_time_limit(check, answer, catches, stop,
                                                         monkeypatch):
    monkeypatch.setenv(TIME_LIMIT_ENV, "0.3")

    def endless(*args):
        while not stop.is_set():
            if catches:
                try:
                    time.sleep(0.01)
                except Exception:  # the cheat swallows whatever comes
                    pass

    started = time.monotonic()
    message = fails(check, endless)
    assert "time limit of 0.3 s" in message
    assert time.monotonic() - started < 60


def test_an_endless_loop_is_stopped_where_signals_are_unavailable(stop, monkeypatch):
    """Outside the main thread (or on Windows) the call runs in a thread that is given up."""
    monkeypatch.setenv(TIME_LIMIT_ENV, "0.3")
    outcome = {}

    def endless(x, dy, dx):
        while not stop.is_set():
            time.sleep(0.01)

    def run():
        try:
            invariance.check_circular_shift(endless)
        except ExerciseError as error:
            outcome["message"] = str(error)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(30)
    assert "time limit of 0.3 s" in outcome["message"]


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="no POSIX timers")
def test_the_time_limit_gives_back_a_timer_and_handler_that_were_there():
    def handler(signum, frame):
        raise AssertionError("the outer timer fired during the test")

    previous = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, 100)
    try:
        assert attempt(lambda x: x + 1, 1, call="f(1)") == 2
        assert signal.getsignal(signal.SIGALRM) is handler
        assert 90 < signal.getitimer(signal.ITIMER_REAL)[0] <= 100
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_a_checker_stops_an_endless_loop_before_nbgrader_stops_the_cell():
    """So that a graded notebook shows the ❌ that names the loop, not nbgrader's timeout."""
    from shiftlab.book.grading import CELL_TIMEOUT

    assert 10 <= _core.DEFAULT_TIME_LIMIT <= CELL_TIMEOUT / 4


@pytest.mark.parametrize("value", ["0", "-1", "soon", "nan"])
def test_a_bad_time_limit_is_refused(value, monkeypatch):
    monkeypatch.setenv(TIME_LIMIT_ENV, value)
    with pytest.raises(ValueError, match=TIME_LIMIT_ENV):
        _core.time_limit()


# What the learner's code prints ----------------------------------------------------------------

@pytest.mark.parametrize(("check", "answer"), CHECKS)
def test_what_a_right_answer_prints_is_kept_out_of_the_passed_line(check, answer, capsys):
    def chatty(*args):
        print("learner's debugging line")
        print("learner's warning line", file=sys.stderr)
        return answer(*args)

    check(chatty)
    out, err = capsys.readouterr()
    assert "✅" in out
    assert "learner's" not in out
    assert err == ""  # nbgrader gives 0 to a cell that writes to stderr


@pytest.mark.parametrize(("check", "answer"), CHECKS)
def test_what_a_wrong_answer_prints_is_shown_with_the_failure(check, answer, capsys):
    def chatty(*args):
        print("learner's debugging line")
        print("learner's warning line", file=sys.stderr)
        return None

    message = fails(check, chatty)
    assert "Your code printed" in message
    assert "learner's debugging line" in message and "learner's warning line" in message
    out, err = capsys.readouterr()
    assert "learner's" not in out and err == ""


def test_numpy_scalars_of_the_right_value_pass(capsys):
    """Not a cheat: a learner who computed with numpy gets the numbers read as numbers."""
    from test_exercises import my_equivariance_error
    from test_exercises_rook import my_border

    from shiftlab.exercises import rook

    invariance.check_equivariance_error(lambda *args: np.float32(my_equivariance_error(*args)))
    rook.check_invisible_border(lambda config: np.int64(my_border(config)))
    assert capsys.readouterr().out.count("✅") == 2


# Position ------------------------------------------------------------------------------------

def test_a_score_that_ranks_by_position_fails():
    """Exercise 1.5 once passed ``arange(N, 0, -1)``: the vertical stripes always came first."""
    message = fails(invariance.check_orientation_score,
                    lambda x: torch.arange(len(x), 0, -1.0))
    assert "vertical" in message
