"""Argument checks shared by the public functions of shiftlab.

Every public function calls these first, so a wrong argument fails at once with a message that
names the argument, says what was expected and shows what came.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import torch


def image_tensor(x: Any, name: str = "x", *, ranks: tuple[int, ...] = (2, 4)) -> torch.Tensor:
    """Check that ``x`` is a non-empty floating-point tensor of one of the allowed ranks.

    Images are ``(H, W)`` or ``(N, C, H, W)``; some functions accept other ranks and say so.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor of shape {_ranks_text(ranks)}, "
            f"got {type(x).__name__}"
        )
    if x.dim() not in ranks:
        raise ValueError(
            f"{name} must have shape {_ranks_text(ranks)}, got shape {tuple(x.shape)} "
            f"(rank {x.dim()})"
        )
    if x.numel() == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(
            f"{name} must have a floating-point dtype (float32 or float64), got {x.dtype}"
        )
    return x


def any_tensor(x: Any, name: str = "x") -> torch.Tensor:
    """Check that ``x`` is a non-empty tensor of at least two (spatial) dimensions."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() < 2:
        raise ValueError(
            f"{name} must have at least two (spatial) dimensions (..., H, W), "
            f"got shape {tuple(x.shape)}"
        )
    if x.numel() == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(x.shape)}")
    return x


def integer(value: Any, name: str) -> int:
    """Check that ``value`` is an integer (Python or NumPy, not bool, not float)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    return int(value)


def offset(t: Any, name: str = "t") -> tuple[int, int]:
    """Check that ``t`` is a pair of integers ``(dy, dx)`` and return it as a tuple of ints."""
    if isinstance(t, torch.Tensor) or not isinstance(t, tuple | list) or len(t) != 2:
        raise TypeError(f"{name} must be a pair of ints (dy, dx), got {t!r}")
    return integer(t[0], f"{name}[0] (dy)"), integer(t[1], f"{name}[1] (dx)")


def positive_int(value: Any, name: str) -> int:
    """Check that ``value`` is an integer ``>= 1``."""
    value = integer(value, name)
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return value


def non_negative_float(value: Any, name: str) -> float:
    """Check that ``value`` is a real number ``>= 0``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    if not value >= 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return float(value)


def function(f: Any, name: str) -> Callable:
    """Check that ``f`` is callable."""
    if not callable(f):
        raise TypeError(f"{name} must be callable (a function or a module), got {type(f).__name__}")
    return f


def one_of(value: Any, name: str, allowed: tuple[str, ...]) -> str:
    """Check that ``value`` is one of the allowed strings."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}")
    return value


def _ranks_text(ranks: tuple[int, ...]) -> str:
    shapes = {2: "(H, W)", 3: "(C, H, W)", 4: "(N, C, H, W)"}
    return " or ".join(shapes.get(r, f"rank {r}") for r in ranks)
