"""Argument checks shared by the public functions of shiftlab.

Every public function calls these first, so a wrong argument fails at once with a message that
names the argument, says what was expected and shows what came.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

LARGEST_INT = 2**63 - 1
"""Integers must fit in 64 bits (torch's int64): a seed, a shift, a count."""


def readable(x: torch.Tensor) -> bool:
    """Whether ``x`` holds values that can be inspected: not a ``meta`` tensor, and not a
    tensor inside ``torch.func.vmap`` or ``grad`` (whose values no Python ``if`` may read)."""
    return x.device.type != "meta" and not torch._C._functorch.is_functorch_wrapped_tensor(x)


def image_tensor(x: Any, name: str = "x", *, ranks: tuple[int, ...] = (2, 4),
                 finite: bool = True) -> torch.Tensor:
    """Check that ``x`` is a non-empty floating-point tensor of one of the allowed ranks, with
    finite values (unless ``finite=False``: a NaN or an infinity is then the caller's).

    Images are ``(H, W)`` or ``(N, C, H, W)``; some functions accept other ranks and say so.
    A ``meta`` tensor (shape and dtype, no values) passes: the functions follow their input's
    device, and the ones that must read values refuse it with ``values``.
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
    if finite:
        finite_values(x, name)
    return x


def finite_values(x: torch.Tensor, name: str) -> torch.Tensor:
    """Check that the tensor ``x`` has no NaN and no infinity (a ``meta`` tensor passes)."""
    if readable(x) and (x.is_floating_point() or x.is_complex()) and x.numel() \
            and not bool(torch.isfinite(x).all()):
        bad = int((~torch.isfinite(x)).sum())
        raise ValueError(f"{name} must have finite values, got {bad} NaN or infinite "
                         f"value{'s' if bad > 1 else ''} among {x.numel()}")
    return x


def values(x: torch.Tensor, name: str) -> torch.Tensor:
    """Check that ``x`` holds values to read: a function that returns numbers (not tensors on
    the input's device) cannot compute them from a ``meta`` tensor."""
    if not readable(x):
        raise ValueError(f"{name} must hold values (a tensor on a CPU or GPU) for this result, "
                         f"got a tensor on the {x.device.type} device")
    return x


def label_tensor(y: Any, name: str, n: int | None = None) -> torch.Tensor:
    """Check that ``y`` is a 1-D integer tensor of class labels ``>= 0`` (of length ``n``)."""
    if not isinstance(y, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of class labels, got {type(y).__name__}")
    if y.dtype not in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
        raise TypeError(f"{name} must have an integer dtype (class labels), got {y.dtype}")
    if y.dim() != 1 or y.numel() == 0:
        raise ValueError(f"{name} must have shape (N,) with N >= 1, got {tuple(y.shape)}")
    if n is not None and len(y) != n:
        raise ValueError(f"{name} must have one label per image, {n}, got {len(y)}")
    if readable(y) and int(y.min()) < 0:
        raise ValueError(f"{name} must be class labels >= 0, got {int(y.min())}")
    return y


def network_input(x: Any, net: torch.nn.Module, name: str = "x", *,
                  ranks: tuple[int, ...] = (4,)) -> torch.Tensor:
    """Check that ``x`` is an image batch the network ``net`` can take: an ``image_tensor`` of
    the dtype and on the device of its weights (the message names ``x``, not a weight)."""
    x = image_tensor(x, name, ranks=ranks)
    parameter = next(net.parameters(), None)
    if parameter is not None and x.dtype != parameter.dtype:
        raise TypeError(f"{name} must have the dtype of the network's weights, "
                        f"{parameter.dtype}, got {x.dtype} (convert one: x.to({parameter.dtype}) "
                        f"or net.to({x.dtype}))")
    if parameter is not None and x.device != parameter.device:
        raise ValueError(f"{name} must be on the device of the network's weights, "
                         f"{parameter.device}, got {x.device}")
    return x


def input_of(f: Any, x: Any, name: str, *, ranks: tuple[int, ...] = (4,)) -> torch.Tensor:
    """Check ``x`` as the input of ``f``: an ``image_tensor``, and, when ``f`` is a network (a
    ``torch.nn.Module`` or a method of one), of its dtype and on its device, so that a wrong
    input is named ``name`` here rather than ``x`` deep inside the network."""
    owner = f if isinstance(f, torch.nn.Module) else getattr(f, "__self__", None)
    if isinstance(owner, torch.nn.Module):
        return network_input(x, owner, name, ranks=ranks)
    return image_tensor(x, name, ranks=ranks)


def module(net: Any, name: str) -> torch.nn.Module:
    """Check that ``net`` is a ``torch.nn.Module``."""
    if not isinstance(net, torch.nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {type(net).__name__}")
    return net


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


def integer(value: Any, name: str, *, low: int | None = None,
            high: int | None = None) -> int:
    """Check that ``value`` is an integer (Python or NumPy, not bool, not float) that fits in
    64 bits, and, if given, ``low <= value <= high``."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    value = int(value)
    if abs(value) > LARGEST_INT:
        raise ValueError(f"{name} must fit in 64 bits (|{name}| <= 2**63 - 1), got {value}")
    if low is not None and value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be at most {high}, got {value}")
    return value


def offset(t: Any, name: str = "t") -> tuple[int, int]:
    """Check that ``t`` is a pair of integers ``(dy, dx)`` and return it as a tuple of ints."""
    if isinstance(t, torch.Tensor) or not isinstance(t, tuple | list) or len(t) != 2:
        raise TypeError(f"{name} must be a pair of ints (dy, dx), got {t!r}")
    return integer(t[0], f"{name}[0] (dy)"), integer(t[1], f"{name}[1] (dx)")


def positive_int(value: Any, name: str, high: int | None = None) -> int:
    """Check that ``value`` is an integer ``>= 1`` (and ``<= high`` if given: a size whose
    work grows with it is bounded before any work is done)."""
    return integer(value, name, low=1, high=high)


def non_negative_int(value: Any, name: str, high: int | None = None) -> int:
    """Check that ``value`` is an integer ``>= 0`` (and ``<= high`` if given)."""
    return integer(value, name, low=0, high=high)


def real(value: Any, name: str, *, low: float | None = None, high: float | None = None,
         finite: bool = True) -> float:
    """Check that ``value`` is a real number (not bool), not NaN, finite unless ``finite=False``,
    and within ``[low, high]`` where given."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if math.isnan(value) or (finite and math.isinf(value)):
        raise ValueError(f"{name} must be a finite number, got {value}")
    if low is not None and not value >= low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    if high is not None and not value <= high:
        raise ValueError(f"{name} must be <= {high}, got {value}")
    return value


def non_negative_float(value: Any, name: str) -> float:
    """Check that ``value`` is a finite real number ``>= 0``."""
    return real(value, name, low=0)


def positive_float(value: Any, name: str) -> float:
    """Check that ``value`` is a finite real number ``> 0``."""
    value = real(value, name)
    if not value > 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    return value


def boolean(value: Any, name: str) -> bool:
    """Check that ``value`` is a bool (``True`` or ``False``, not ``"False"``, not 0 or 1)."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be a bool (True or False), got {type(value).__name__} "
                        f"{value!r}")
    return bool(value)


def text(value: Any, name: str) -> str:
    """Check that ``value`` is a str."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__} {value!r}")
    return value


def float_dtype(value: Any, name: str = "dtype") -> torch.dtype:
    """Check that ``value`` is a floating-point ``torch.dtype`` (float32, float64, float16...):
    an int, bool or complex dtype would silently round or drop what is computed in it."""
    if not isinstance(value, torch.dtype) or not value.is_floating_point:
        raise TypeError(f"{name} must be a floating-point torch.dtype (e.g. torch.float32), "
                        f"got {value!r}")
    return value


def mapping(value: Any, name: str, *, nonempty: bool = True) -> Mapping:
    """Check that ``value`` is a mapping (a dict), non-empty unless ``nonempty=False``."""
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a mapping (a dict), got {type(value).__name__}")
    if nonempty and not value:
        raise ValueError(f"{name} must not be empty")
    return value


def sequence(value: Any, name: str, *, nonempty: bool = True,
             length: int | None = None) -> Sequence:
    """Check that ``value`` is a sequence (a list, tuple or range; not a str), non-empty unless
    ``nonempty=False``, of ``length`` items if given."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise TypeError(f"{name} must be a list or tuple, got {type(value).__name__}")
    if nonempty and not value:
        raise ValueError(f"{name} must not be empty")
    if length is not None and len(value) != length:
        raise ValueError(f"{name} must have {length} entries, got {len(value)}")
    return value


def offsets(value: Any, name: str) -> list[tuple[int, int]]:
    """Check that ``value`` is a non-empty sequence of pairs of ints ``(dy, dx)``."""
    return [offset(t, f"{name}[{k}]") for k, t in enumerate(sequence(value, name))]


def reals(value: Any, name: str, *, nonempty: bool = True,
            length: int | None = None) -> list[float]:
    """Check that ``value`` is a sequence (or 1-D tensor) of finite real numbers."""
    if isinstance(value, torch.Tensor):
        if value.dim() != 1:
            raise ValueError(f"{name} must be a 1-D tensor or a list of numbers, got shape "
                             f"{tuple(value.shape)}")
        value = values(value, name).tolist()
    value = sequence(value, name, nonempty=nonempty, length=length)
    return [real(v, f"{name}[{k}]") for k, v in enumerate(value)]


def optional_real(value: Any, name: str, **bounds: Any) -> float | None:
    """``None``, or a finite real number checked by ``real``."""
    return None if value is None else real(value, name, **bounds)


def path(value: Any, name: str, *, exists: str | None = None) -> Path:
    """Check that ``value`` is a path (a ``str`` or ``os.PathLike``, not a file descriptor) and
    return it as a ``Path``; ``exists="dir"`` or ``"file"`` also checks that it is one."""
    if isinstance(value, bool) or not isinstance(value, str | os.PathLike) or value == "":
        raise TypeError(f"{name} must be a path (a str or pathlib.Path), got "
                        f"{type(value).__name__} {value!r}")
    value = Path(value)
    if exists == "dir" and not value.is_dir():
        raise ValueError(f"{name} must be an existing folder, got {str(value)!r}")
    if exists == "file" and not value.is_file():
        raise ValueError(f"{name} must be an existing file, got {str(value)!r}")
    return value


def notebook(value: Any, name: str) -> Any:
    """Check that ``value`` is a notebook (an ``nbformat.NotebookNode``: a dict with cells)."""
    if not isinstance(value, Mapping) or not isinstance(value.get("cells"), list):
        raise TypeError(f"{name} must be a notebook (nbformat.NotebookNode), got "
                        f"{type(value).__name__}")
    return value


def argv(value: Any, name: str = "argv") -> list[str] | None:
    """Check a command's arguments: ``None`` (the command line) or a list of str."""
    if value is not None and (not isinstance(value, list | tuple)
                              or not all(isinstance(a, str) for a in value)):
        raise TypeError(f"{name} must be a list of str (or None), got {value!r}")
    return None if value is None else list(value)


def function(f: Any, name: str) -> Callable:
    """Check that ``f`` is callable."""
    if not callable(f):
        raise TypeError(f"{name} must be callable (a function or a module), got {type(f).__name__}")
    return f


def one_of(value: Any, name: str, allowed: tuple[str, ...]) -> str:
    """Check that ``value`` is one of the allowed strings."""
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}")
    return value


def _ranks_text(ranks: tuple[int, ...]) -> str:
    shapes = {2: "(H, W)", 3: "(C, H, W)", 4: "(N, C, H, W)"}
    return " or ".join(shapes.get(r, f"rank {r}") for r in ranks)
