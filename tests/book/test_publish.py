"""Launching and publishing: the Colab cell of every notebook, the repository URL of a fork,
Binder's CPU-only environment, and the student edition of the book (no solutions)."""

import re
import shutil
import subprocess
import sys
from pathlib import Path
from unittest import mock

import nbformat
import pytest
import yaml
from book_pages import CHAPTERS, ROOT
from IPython.core.inputtransformer2 import TransformerManager

from shiftlab.book.authoring import stale_notebooks
from shiftlab.book.edition import EDITION_DIR, book_url
from shiftlab.book.execution import cache_path
from shiftlab.book.publish import (
    PLACEHOLDER_URL,
    SOLUTIONS_SENTENCE,
    STUDENT_SENTENCE,
    PublishError,
    _student_config,
    _student_toc,
    colab_cell,
    colab_cell_problems,
    first_code_cell,
    main,
    notebooks,
    repository_url,
    set_repository,
    student_source,
)


def _copy_sources(destination: Path) -> Path:
    """The files the book and the lessons are made from, copied to ``destination``."""
    destination.mkdir(parents=True, exist_ok=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(ROOT / name, destination / name)
    for folder in ("book", "solutions", "lessons", EDITION_DIR):
        shutil.copytree(ROOT / folder, destination / folder,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "_build"))
    return destination


# --- the Colab install cell ---------------------------------------------------------------

def test_every_notebook_starts_with_the_colab_cell_for_the_configured_repository():
    assert notebooks(ROOT), "no notebooks found"
    assert colab_cell_problems(ROOT) == []


def test_the_repository_url_is_a_github_url_the_launch_buttons_can_use():
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", repository_url(ROOT))


def _run_cell(source: str, installed: bool) -> list[tuple[str, str]]:
    """Run the Colab cell as IPython would, with shiftlab installed or not; return the magics
    it called."""
    calls: list[tuple[str, str]] = []
    shell = mock.Mock()
    shell.run_line_magic.side_effect = lambda name, line: calls.append((name, line))
    python = TransformerManager().transform_cell(source)
    find_spec = mock.Mock(return_value=object() if installed else None)
    with mock.patch("importlib.util.find_spec", find_spec):
        exec(python, {"get_ipython": lambda: shell})
    return calls


def test_the_colab_cell_does_nothing_where_shiftlab_is_installed():
    assert _run_cell(colab_cell(PLACEHOLDER_URL), installed=True) == []


def test_the_colab_cell_installs_shiftlab_from_the_repository_where_it_is_missing():
    calls = _run_cell(colab_cell("https://github.com/someone/fork"), installed=False)
    assert calls == [("pip", 'install -q "git+https://github.com/someone/fork"')]


def test_the_chapters_use_the_cell_as_the_course_writes_it():
    source = first_code_cell(ROOT / "book" / f"{CHAPTERS[0]}.ipynb")
    assert source == colab_cell(repository_url(ROOT))
    assert source.startswith("# On Colab, install the course package")


# --- a fork's repository URL --------------------------------------------------------------

def test_a_fork_sets_its_url_in_the_config_and_every_notebook_and_lessons_stay_in_sync(
        tmp_path):
    root = _copy_sources(tmp_path)
    before = {path: path.read_text(encoding="utf-8") for path in notebooks(root)}
    changed = set_repository(root, "https://github.com/someone/fork", branch="teaching")
    assert repository_url(root) == "https://github.com/someone/fork"
    assert "branch: teaching" in (root / "_config.yml").read_text(encoding="utf-8")
    assert colab_cell_problems(root) == []
    assert set(changed) == {root / "_config.yml", *before}
    assert stale_notebooks(root) == []
    old_book, new_book = book_url(PLACEHOLDER_URL), "https://someone.github.io/fork/"
    for path, text in before.items():  # nothing else in a notebook changed
        new = path.read_text(encoding="utf-8")
        assert old_book not in new
        new = new.replace("/blob/teaching/", "/blob/main/")  # the branch of the fork
        assert new.replace(new_book, "BOOK").replace("someone/fork", "X") == \
            text.replace(old_book, "BOOK").replace(
                PLACEHOLDER_URL.removeprefix("https://github.com/"), "X")
    edition = (root / EDITION_DIR / "book" / f"{CHAPTERS[0]}.ipynb").read_text(encoding="utf-8")
    assert f"{new_book}book/glossary.html#" in edition
    assert "https://github.com/someone/fork/blob/teaching/lessons/" in edition


def test_the_repository_command_checks_and_sets_the_url(tmp_path, capsys):
    root = _copy_sources(tmp_path)
    assert main(["--root", str(root), "repository", "--check"]) == 0
    notebook = next(iter(notebooks(root)))
    notebook.write_text(notebook.read_text(encoding="utf-8").replace("git+https", "git+http"),
                        encoding="utf-8")
    assert main(["--root", str(root), "repository", "--check"]) == 1
    assert notebook.name in capsys.readouterr().out
    assert main(["--root", str(root), "repository", "https://github.com/a/b"]) == 0
    assert repository_url(root) == "https://github.com/a/b"


@pytest.mark.parametrize("url", ["github.com/a/b", "https://gitlab.com/a/b",
                                 "https://github.com/a", "https://github.com/a/b c", 42])
def test_a_url_that_is_not_a_github_repository_is_refused(tmp_path, url):
    root = _copy_sources(tmp_path)
    with pytest.raises(PublishError, match="url must look like"):
        set_repository(root, url)
    assert repository_url(root) == repository_url(ROOT)


# --- Binder -------------------------------------------------------------------------------

def _pin(text: str, package: str) -> str:
    found = re.search(rf"^{package}==(\S+)", text, flags=re.MULTILINE)
    assert found, f"no {package}== pin"
    return found.group(1)


def test_binder_installs_the_pinned_requirements_with_the_cpu_build_of_torch():
    binder = (ROOT / "binder" / "requirements.txt").read_text(encoding="utf-8")
    pinned = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    lines = [line for line in binder.splitlines() if line and not line.startswith("#")]
    assert "-r ../requirements.txt" in lines
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in lines
    assert _pin(binder, "torch") == _pin(pinned, "torch") + "+cpu"


def test_binder_uses_the_python_the_requirements_are_compiled_for():
    runtime = (ROOT / "binder" / "runtime.txt").read_text(encoding="utf-8").strip()
    header = re.search(r"pip-compile with Python (\d+\.\d+)",
                       (ROOT / "requirements.txt").read_text(encoding="utf-8"))
    assert header and runtime == f"python-{header.group(1)}"


def test_the_requirements_pin_torch_and_playwright_and_install_the_course():
    pinned = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    direct = (ROOT / "requirements.in").read_text(encoding="utf-8")
    assert _pin(pinned, "torch") == "2.13.0"
    assert _pin(pinned, "playwright") == _pin(direct, "playwright")
    assert pinned.rstrip().endswith("-e .")


# --- the student edition ------------------------------------------------------------------

@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_chapter_ends_with_its_lesson_and_the_sentence_the_student_edition_rewrites(
        chapter):
    notebook = nbformat.read(ROOT / "book" / f"{chapter}.ipynb", as_version=4)
    text = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    names = [match["name"] for match in SOLUTIONS_SENTENCE.finditer(text)]
    assert names == [chapter]
    assert f"{{download}}`lessons/{chapter}.ipynb <../lessons/{chapter}.ipynb>`" in text


def test_the_student_toc_drops_the_solutions_part_and_keeps_the_rest():
    toc = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    student = _student_toc(toc)
    assert "solutions/" in toc and "solutions/" not in student
    assert "Solutions to the exercises" not in student
    for kept in ("book/intro", "book/[0-9][0-9]_*", "book/glossary", "book/instructor_guide"):
        assert kept in student


def test_the_student_sources_have_no_solutions_and_no_link_to_them(tmp_path):
    source = student_source(ROOT, tmp_path / "student")
    assert not (source / "solutions").exists()
    assert (source / "lessons").is_dir()
    for chapter in CHAPTERS:
        notebook = nbformat.read(source / "book" / f"{chapter}.ipynb", as_version=4)
        text = "\n".join(cell.source for cell in notebook.cells)
        assert "solutions/" not in text and STUDENT_SENTENCE in text
        assert (source / "lessons" / f"{chapter}.ipynb").is_file()
        edition = nbformat.read(source / EDITION_DIR / "book" / f"{chapter}.ipynb",
                                as_version=4)  # what the download button gives
        text = "\n".join(cell.source for cell in edition.cells)
        assert "solutions/" not in text and STUDENT_SENTENCE in text


def test_a_link_to_the_solutions_elsewhere_in_a_chapter_stops_the_student_edition(tmp_path):
    root = _copy_sources(tmp_path / "repo")
    path = root / "book" / f"{CHAPTERS[0]}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.insert(1, nbformat.v4.new_markdown_cell(
        f"See also {{doc}}`the solutions <../solutions/{CHAPTERS[0]}>`."))
    nbformat.write(notebook, path)
    with pytest.raises(PublishError, match=rf"{CHAPTERS[0]}.ipynb, cell 1: links to"):
        student_source(root, tmp_path / "student")


def test_the_student_edition_is_never_written_into_the_sources(tmp_path):
    root = _copy_sources(tmp_path)
    for destination in (root, root / "book" / "student"):
        with pytest.raises(PublishError, match="destination"):
            student_source(root, destination)
    assert (root / "solutions").is_dir() and (root / "book").is_dir()


@pytest.fixture(scope="module")
def student_build(built_book) -> str:
    """The student edition, built with the documented command after the full book, whose
    executed notebooks it reuses; its log."""
    result = subprocess.run([sys.executable, "-m", "shiftlab.book.publish", "student"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def student_book(student_build) -> Path:
    return ROOT / "_build" / "student" / "html"


def test_the_student_config_reads_the_full_books_cache_and_changes_nothing_else():
    config = yaml.safe_load(_student_config(ROOT))
    full = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert config["execute"].pop("cache") == str(cache_path(ROOT))
    assert cache_path(ROOT) == ROOT / "_build" / ".jupyter_cache"
    assert config == full


@pytest.mark.book
def test_the_student_edition_executes_no_notebook_the_full_book_executed(student_build):
    chapters = sorted((ROOT / "book").glob("*.ipynb"))
    cached = re.findall(r"book/(\w+)\.ipynb: Using cached notebook", student_build)
    assert sorted(cached) == [path.stem for path in chapters]
    assert "Executing notebook" not in student_build
    assert "shiftlab: executing" not in student_build


@pytest.mark.book
def test_the_student_edition_builds_without_solutions_and_without_broken_links(
        student_book):
    assert (student_book / "book" / "intro.html").is_file()
    assert not (student_book / "solutions").exists()
    assert not (student_book / "_sources" / "solutions").exists()
    assert "solutions/" not in (student_book / "searchindex.js").read_text(encoding="utf-8")
    broken, leaks = [], []
    for page in sorted(student_book.rglob("*.html")):
        if "_static" in page.parts:  # the theme's templates, not pages
            continue
        name, text = str(page.relative_to(student_book)), page.read_text(encoding="utf-8")
        for link in re.findall(r'href="([^"#:?]+)(?:#[^"]*)?"', text):
            if not (page.parent / link).resolve().exists():
                broken.append(f"{name}: {link}")
        leaks += [f"{name}: {link}" for link in re.findall(r'href="([^"]*solutions/[^"]*)"', text)]
    assert broken == [] and leaks == []
    for chapter in CHAPTERS:
        text = (student_book / "book" / f"{chapter}.html").read_text(encoding="utf-8")
        assert "The worked solutions are not part of this edition" in text
        assert re.search(r'href="\.\./_downloads/[^"]+\.ipynb"', text), "no lesson download"
