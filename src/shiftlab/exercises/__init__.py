"""Exercise checkers: instant ✅ / ⏳ / ❌ feedback in the exercise notebooks.

A checker takes the learner's answer (usually a function), tries it on randomized inputs and

- prints ``✅ passed`` when every trial agrees with the reference;
- prints ``⏳ not attempted yet`` when the answer still raises the ``NotImplementedError`` stub
  that ``python -m shiftlab.book.authoring`` put in the lesson;
- raises ``ExerciseError`` (an ``AssertionError``) when a trial disagrees, with what was tried,
  what was expected and what came back.

``summary()`` at the end of a notebook lists every exercise checked so far. The test suite sets
the environment variable ``SHIFTLAB_EXPECT`` for the notebook kernels: ``solved`` for
``solutions/`` (any stub or wrong answer fails) and ``pending`` for ``lessons/`` (an untouched
lesson must report every exercise pending, so a lesson that leaks a solution fails too).

A checker cannot be fooled or hung: it calls the learner's code through ``_core.attempt``, which
passes copies of the inputs, stops a call after ``SHIFTLAB_TIME_LIMIT`` seconds (20 by default),
captures what the code prints (shown only under a ❌) and returns the answer as plain tensors and
numbers, so that no subclass or custom ``__eq__`` can claim to be right.

One module per chapter holds that chapter's checkers, e.g. ``shiftlab.exercises.invariance``.
"""

from shiftlab.exercises._core import (
    DEFAULT_TIME_LIMIT,
    EXPECT_ENV,
    TIME_LIMIT_ENV,
    ExerciseError,
    attempt,
    exercise,
    results,
    summary,
)

__all__ = [
    "DEFAULT_TIME_LIMIT",
    "EXPECT_ENV",
    "TIME_LIMIT_ENV", "ExerciseError", "attempt", "exercise", "results", "summary",
]
