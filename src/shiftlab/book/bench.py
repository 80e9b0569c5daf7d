"""Benchmark: what the test command costs against the work it has to do, and the budgets.

Run from the repository root::

    python -m shiftlab.book.bench                            # everything (several minutes)
    python -m shiftlab.book.bench --skip-tests --skip-units  # the notebooks' times only
    python -m shiftlab.book.bench --only-pages               # page sizes of an existing _build/html

In one run, on one machine, one after another:

1. **notebooks**: every notebook of ``book/``, ``solutions/`` and ``lessons/`` executed once, one
   after another, each in a fresh kernel (after one untimed warm-up run that loads the
   libraries from disk); each one's time against the budget, and their sum;
2. **units**: the unit and property tests alone, in one process
   (``python -m pytest tests -m "not book" -n 0``);
3. **tests**: the README's test command, ``python -m pytest``, as it is (both cores);
4. **book**: the README's build command, which after the test command finds every notebook in
   the jupyter-cache: the time an author waits after editing prose;

then the size of every page of ``_build/html``. It prints the ratio

    test command ÷ (unit tests + one execution of each notebook)

whose target is ≤ 1.0: the test command executes every notebook twice (nbval, and once for
both editions of the book) and builds the book, and the second core pays for that. The logs of
the commands are kept in ``_build/bench/``.

Budgets (from the course plan): every notebook ≤ 20 s on a 2-core machine, every chapter page
≤ 3 MB. The script flags what is over; it does not fail on a time, which depends on the machine,
but it exits 1 if a command it timed failed (its time would mean nothing).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from shiftlab import _validate

NOTEBOOK_DIRS = ("book", "solutions", "lessons")
NOTEBOOK_BUDGET_S = 20.0
PAGE_BUDGET_BYTES = 3_000_000
RATIO_TARGET = 1.0
BOOK_BUILD_ARGUMENTS = ("build", ".", "--all", "--warningiserror", "--nitpick", "--keep-going")
"""The README's build command is ``jupyter-book`` with these arguments: every warning is an
error, so broken links and failed notebooks stop the build."""

TEST_COMMAND = ("-m", "pytest")
"""The README's test command, after ``python``."""

UNIT_COMMAND = ("-m", "pytest", "tests", "-m", "not book", "-n", "0", "-q")
"""The unit and property tests alone, in one process: no notebook, no book, no browser."""


def book_build_command() -> list[str]:
    """The README's build command, with the ``jupyter-book`` installed beside this Python."""
    beside = Path(sys.executable).with_name("jupyter-book")
    return [str(beside) if beside.exists() else "jupyter-book", *BOOK_BUILD_ARGUMENTS]


def execute_notebook(
    path: Path, *, env: dict[str, str] | None = None, timeout: int = 600
) -> tuple[nbformat.NotebookNode, float]:
    """Run every cell of the notebook at ``path`` in its own folder; return it and the seconds.

    ``env`` adds environment variables for the kernel (e.g. ``SHIFTLAB_EXPECT``). An error in a
    cell raises ``nbclient.exceptions.CellExecutionError``.
    """
    path = _validate.path(path, "path", exists="file")
    if env is not None:
        _validate.mapping(env, "env", nonempty=False)
    timeout = _validate.positive_int(timeout, "timeout", high=86_400)
    notebook = nbformat.read(path, as_version=4)
    kernel_env = {**os.environ, **(env or {})}
    client = NotebookClient(
        notebook, timeout=timeout, kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    client.execute(env=kernel_env)
    return notebook, time.perf_counter() - start


def notebooks(root: Path) -> list[Path]:
    """Every notebook of the course, chapters first, then solutions, then lessons."""
    root = _validate.path(root, "root", exists="dir")
    return [path for folder in NOTEBOOK_DIRS for path in sorted((root / folder).glob("*.ipynb"))]


def build_book(root: Path) -> float:
    """Build the HTML book into ``root/_build/html`` with the README's command; return seconds."""
    root = _validate.path(root, "root", exists="dir")
    if not (root / "_config.yml").is_file() or not (root / "_toc.yml").is_file():
        raise ValueError(f"root must be the book's folder (with _config.yml and _toc.yml), "
                         f"got {str(root)!r}")
    start = time.perf_counter()
    subprocess.run(book_build_command(), cwd=root, check=True)
    return time.perf_counter() - start


def timed_command(command: list[str], root: Path, log: Path) -> tuple[float, int, str]:
    """Run ``command`` in ``root`` with its output in the file ``log``; return the seconds, the
    exit code and the last line of the output."""
    command = [_validate.text(part, "command[k]")
               for part in _validate.sequence(command, "command")]
    root = _validate.path(root, "root", exists="dir")
    log = _validate.path(log, "log")
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with log.open("w", encoding="utf-8") as out:
        code = subprocess.run(command, cwd=root, stdout=out, stderr=subprocess.STDOUT).returncode
    seconds = time.perf_counter() - start
    lines = [line.strip() for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
    return seconds, code, lines[-1] if lines else ""


def page_sizes(html_root: Path) -> dict[str, tuple[int, int]]:
    """For each built page of the book: its HTML bytes, and those plus the images it loads."""
    html_root = _validate.path(html_root, "html_root", exists="dir")
    sizes = {}
    for folder in NOTEBOOK_DIRS:
        for page in sorted((html_root / folder).glob("*.html")):
            text = page.read_text(encoding="utf-8")
            images = {
                (page.parent / source).resolve()
                for source in re.findall(r'<img[^>]+src="(?!data:)([^"#?]+)"', text)
            }
            extra = sum(image.stat().st_size for image in images if image.is_file())
            html_bytes = len(text.encode())
            sizes[str(page.relative_to(html_root))] = (html_bytes, html_bytes + extra)
    return sizes


def ratio(test_seconds: float, unit_seconds: float, notebook_seconds: float) -> float:
    """The test command's time over the work it has to do: the unit tests plus one execution
    of each notebook, one after another."""
    for name, value in (("test_seconds", test_seconds), ("unit_seconds", unit_seconds),
                        ("notebook_seconds", notebook_seconds)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0 \
                or value == float("inf"):
            raise ValueError(f"{name} must be a number >= 0, got {value!r}")
    if unit_seconds + notebook_seconds == 0:
        raise ValueError("unit_seconds + notebook_seconds must be > 0, got 0")
    return test_seconds / (unit_seconds + notebook_seconds)


def _time_notebooks(root: Path) -> tuple[float, tuple[str, float], list[str]]:
    from nbclient.exceptions import CellExecutionError

    paths = notebooks(root)
    with contextlib.suppress(CellExecutionError):  # warm-up: libraries read from disk once
        execute_notebook(paths[0])
    print(f"{'notebook (one after another)':52} {'seconds':>8}")
    times, failed = {}, []
    for path in paths:
        name = str(path.relative_to(root))
        start = time.perf_counter()
        try:
            _, seconds = execute_notebook(path)
            flag = "  over budget" if seconds > NOTEBOOK_BUDGET_S else ""
        except CellExecutionError as error:
            seconds = time.perf_counter() - start
            failed.append(name)
            flag = f"  FAILED: {str(error).strip().splitlines()[-1][:60]}"
        times[name] = seconds
        print(f"{name:52} {seconds:8.1f}{flag}", flush=True)
    slowest = max(times.items(), key=lambda item: item[1])
    total = sum(times.values())
    print(f"{'one execution of each notebook (' + str(len(paths)) + ')':52} {total:8.1f}\n")
    return total, slowest, failed


def _print_pages(html_root: Path) -> None:
    print(f"\n{'page':52} {'HTML MB':>8} {'+ images MB':>12}")
    for page, (html_bytes, total) in page_sizes(html_root).items():
        flag = "  over budget" if total > PAGE_BUDGET_BYTES else ""
        print(f"{page:52} {html_bytes / 1e6:8.2f} {total / 1e6:12.2f}{flag}")


def main(argv: list[str] | None = None) -> int:
    argv = _validate.argv(argv)
    parser = argparse.ArgumentParser(prog="python -m shiftlab.book.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the repository root")
    parser.add_argument("--skip-notebooks", action="store_true",
                        help="do not time each notebook")
    parser.add_argument("--skip-units", action="store_true",
                        help="do not time the unit and property tests alone")
    parser.add_argument("--skip-tests", action="store_true",
                        help="do not time the test command (the longest part)")
    parser.add_argument("--skip-book", action="store_true",
                        help="do not time the book build")
    parser.add_argument("--only-pages", action="store_true",
                        help="only print the page sizes of the built book")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if args.only_pages:
        args.skip_notebooks = args.skip_units = args.skip_tests = args.skip_book = True
    logs = root / "_build" / "bench"
    failed = []
    times: dict[str, float] = {}
    slowest = None

    if not args.skip_notebooks:
        times["notebooks"], slowest, broken = _time_notebooks(root)
        failed += broken
    for part, command, skip in (
            ("units", [sys.executable, *UNIT_COMMAND], args.skip_units),
            ("tests", [sys.executable, *TEST_COMMAND], args.skip_tests),
            ("book", book_build_command(), args.skip_book)):
        if skip:
            continue
        seconds, code, last = timed_command(command, root, logs / f"{part}.log")
        times[part] = seconds
        shown = " ".join(["python" if c == sys.executable else c for c in command])
        shown = shown.replace(book_build_command()[0], "jupyter-book")
        status = "" if code == 0 else f"  FAILED (exit {code}, see {logs / (part + '.log')})"
        if code != 0:
            failed.append(part)
        if part == "book":
            text = (logs / "book.log").read_text(encoding="utf-8")
            ahead = text.count(": executed in ")  # by shiftlab.book.execution, then cached
            executed = ahead + text.count("Executed notebook in")
            last = (f"{executed} notebooks executed, "
                    f"{text.count('Using cached notebook') - ahead} found in the cache")
        print(f"{shown}: {seconds:.1f} s  ({last}){status}", flush=True)

    if {"tests", "units", "notebooks"} <= set(times):
        value = ratio(times["tests"], times["units"], times["notebooks"])
        flag = "" if value <= RATIO_TARGET else "  over target"
        print(f"\nratio: test command {times['tests']:.1f} s / (unit tests {times['units']:.1f} s"
              f" + one execution of each notebook {times['notebooks']:.1f} s) = {value:.2f}"
              f"  (target <= {RATIO_TARGET}){flag}")
    if slowest is not None:
        print(f"slowest notebook: {slowest[0]} {slowest[1]:.1f} s "
              f"(budget {NOTEBOOK_BUDGET_S:.0f} s)")
    html_root = root / "_build" / "html"
    if html_root.is_dir():
        _print_pages(html_root)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
