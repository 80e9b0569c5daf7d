"""The book builds with warnings as errors, and its pages carry what the notebooks computed."""

import re
import subprocess
from pathlib import Path

import pytest

from shiftlab.bench import book_build_command

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
CHAPTERS = sorted(p.stem for p in (ROOT / "book").glob("[0-9][0-9]_*.ipynb"))

pytestmark = pytest.mark.book


@pytest.fixture(scope="module")
def built_book():
    """Build the book once, with the README's command; show the log's end if it fails."""
    result = subprocess.run(book_build_command(), cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
    return HTML


def _page(built_book, path):
    return (built_book / path).read_text(encoding="utf-8")


def toc_pages() -> list[str]:
    """Every page the table of contents names, its globs expanded, without suffix."""
    toc = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    pages = re.findall(r"^\s*-?\s*(?:root|file):\s*(\S+)", toc, flags=re.MULTILINE)
    for pattern in re.findall(r"^\s*-\s*glob:\s*(\S+)", toc, flags=re.MULTILINE):
        pages += sorted(str(p.relative_to(ROOT).with_suffix("")) for p in ROOT.glob(pattern)
                        if p.suffix in (".ipynb", ".md"))
    return pages


def test_every_page_of_the_table_of_contents_is_built(built_book):
    pages = toc_pages()
    assert "book/intro" in pages and f"book/{CHAPTERS[0]}" in pages
    assert f"solutions/{CHAPTERS[0]}" in pages
    for name in pages:
        assert (built_book / f"{name}.html").is_file(), name


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_pages_have_kernel_free_sliders_and_no_widget_views(built_book, chapter):
    page = _page(built_book, f"book/{chapter}.html")
    sliders = re.findall(r'class="shiftlab-slider"', page)
    assert sliders, "no kernel-free slider on the page"
    assert len(re.findall(r'type="range"', page)) == len(sliders)
    assert "widget-view+json" not in page.split("</head>")[1]
    assert "html-manager" not in page and "require.min.js" not in page


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_prose_shows_computed_numbers_not_placeholders(built_book, chapter):
    page = _page(built_book, f"book/{chapter}.html")
    assert "{glue" not in page and "glue:text" not in page
    assert "Traceback" not in page and "NotImplementedError" not in page


def test_math_is_rendered_from_the_book_itself(built_book):
    page = _page(built_book, f"book/{CHAPTERS[0]}.html")
    sources = re.findall(r'<script[^>]+src="([^"]*mathjax[^"]*)"', page, flags=re.IGNORECASE)
    assert sources and all(not s.startswith("http") for s in sources)
    assert (built_book / "_static" / "mathjax" / "tex-chtml.js").is_file()


def test_solution_pages_show_every_exercise_passed(built_book):
    for solution in (ROOT / "solutions").glob("*.ipynb"):
        page = _page(built_book, f"solutions/{solution.stem}.html")
        assert page.count("✅ Exercise") >= 4
        assert "⏳ Exercise" not in page and "❌ Exercise" not in page
        assert "Traceback" not in page


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapters_link_to_a_downloadable_lesson(built_book, chapter):
    page = _page(built_book, f"book/{chapter}.html")
    links = re.findall(r'href="(\.\./_downloads/[^"]+\.ipynb)"', page)
    assert links, "no download link to the lesson"
    downloaded = (built_book / "book" / links[0]).resolve()
    assert downloaded.read_bytes() == (ROOT / "lessons" / f"{chapter}.ipynb").read_bytes()


def test_citations_resolve_to_the_bibliography(built_book):
    chapter = _page(built_book, f"book/{CHAPTERS[0]}.html")
    references = _page(built_book, "book/references.html")
    cited = set(re.findall(r'href="references.html#id\d+"', chapter))
    assert cited
    assert "Kayhan" in references and "Goodfellow" in references
