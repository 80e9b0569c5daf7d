"""The benchmark's arithmetic and its quick parts (shiftlab.book.bench)."""

import pytest

from shiftlab.book.bench import main, ratio


def test_the_ratio_is_the_test_command_over_the_work_it_has_to_do():
    assert ratio(340.0, 54.0, 113.0) == pytest.approx(340 / 167)  # the numbers: 2.04
    assert ratio(167.0, 54.0, 113.0) == pytest.approx(1.0)


@pytest.mark.parametrize(("times", "message"), [
    ((-1.0, 1.0, 1.0), "test_seconds must be a number >= 0"),
    ((1.0, float("nan"), 1.0), "unit_seconds must be a number >= 0"),
    ((1.0, 1.0, "2"), "notebook_seconds must be a number >= 0"),
    ((1.0, 0.0, 0.0), "must be > 0"),
])
def test_a_time_that_is_not_a_duration_is_refused(times, message):
    with pytest.raises(ValueError, match=message):
        ratio(*times)


def test_only_pages_prints_each_pages_size_against_the_budget(tmp_path, capsys):
    book = tmp_path / "_build" / "html" / "book"
    book.mkdir(parents=True)
    (book / "01_small.html").write_text("<p>small</p>", encoding="utf-8")
    (book / "02_big.html").write_text("x" * 3_100_000, encoding="utf-8")
    assert main(["--root", str(tmp_path), "--only-pages"]) == 0
    lines = capsys.readouterr().out.splitlines()
    small = next(line for line in lines if line.startswith("book/01_small.html"))
    big = next(line for line in lines if line.startswith("book/02_big.html"))
    assert "over budget" not in small and big.endswith("over budget")
