"""Hypothesis strategies shared by the property tests: images, shapes and shifts."""

from __future__ import annotations

import torch
from hypothesis import strategies as st

offsets = st.integers(-40, 40)
shifts = st.tuples(offsets, offsets)
dtypes = st.sampled_from([torch.float32, torch.float64])


@st.composite
def images(draw, *, batched: bool | None = None, min_side: int = 1, max_side: int = 9,
           dtype: torch.dtype | None = None) -> torch.Tensor:
    """A random image ``(H, W)`` or ``(N, C, H, W)`` of iid normal pixels, seeded by hypothesis."""
    batched = draw(st.booleans()) if batched is None else batched
    height = draw(st.integers(min_side, max_side))
    width = draw(st.integers(min_side, max_side))
    dtype = draw(dtypes) if dtype is None else dtype
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 3)), height, width) if batched \
        else (height, width)
    generator = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    return torch.randn(shape, generator=generator, dtype=dtype)
