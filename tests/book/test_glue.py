"""shiftlab.book.glue writes exactly what myst-nb's glue writes, without importing it."""

import myst_nb.ext.glue as myst_glue
import pytest

from shiftlab import book


@pytest.mark.parametrize("value", [0.125, 3, "text", [1, 2]])
def test_glue_writes_what_myst_nb_glue_writes(monkeypatch, value):
    calls = []

    def record(*args, **kwargs):
        calls.append((args, kwargs))

    monkeypatch.setattr(book, "display", record)
    monkeypatch.setattr(myst_glue, "ipy_display", record)
    book.glue("answer", value)
    myst_glue.glue("answer", value, display=False)
    assert len(calls) == 2 and calls[0] == calls[1]


def test_glue_names_must_be_identifiers():
    with pytest.raises(ValueError, match="name"):
        book.glue("two words", 1)
