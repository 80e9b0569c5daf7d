"""The book builds with warnings as errors, and its pages carry what the notebooks computed.

The book is built once per test run (the session fixture ``built_book`` of conftest.py);
test_browser.py drives the same pages in Chromium.
"""

import re
import shutil
import subprocess
from collections import Counter
from html import unescape as html_unescape
from pathlib import Path

import nbformat
import pytest
import yaml
from book_pages import CHAPTERS, ROOT, toc_pages

from shiftlab.book.bench import BOOK_BUILD_ARGUMENTS, book_build_command
from shiftlab.book.edition import EDITION_DIR, myst_leftovers

pytestmark = pytest.mark.book

NOTEBOOK_PAGES = [page for page in toc_pages() if (ROOT / f"{page}.ipynb").is_file()]


def _page(built_book, path):
    return (built_book / path).read_text(encoding="utf-8")


def test_every_page_of_the_table_of_contents_is_built(built_book):
    pages = toc_pages()
    assert "book/intro" in pages and f"book/{CHAPTERS[0]}" in pages
    assert f"solutions/{CHAPTERS[0]}" in pages
    for front_and_back in ("setup", "glossary", "instructor_guide", "references",
                           "execution_status"):
        assert f"book/{front_and_back}" in pages
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


HARMLESS_TWICE = ("var togglebuttonSelector",)
"""sphinx-togglebutton's selector is written twice by the same Sphinx bug; a `var` may be
declared again, so its second copy does no harm and is tolerated."""


@pytest.mark.parametrize("page", toc_pages())
def test_no_script_is_written_twice_into_a_page(built_book, page):
    # Sphinx 7.4 wrote an extension's inline script twice when it was registered after the
    # builder started; sphinx-thebe's `const THEBE_JS_URL` then raised a SyntaxError.
    html = _page(built_book, f"{page}.html").split("</head>")[0]
    scripts = re.findall(r"<script[^>]*>.*?</script>", html, flags=re.DOTALL)
    twice = [script[:100] for script, count in Counter(scripts).items()
             if count > 1 and not any(harmless in script for harmless in HARMLESS_TWICE)]
    assert twice == []
    assert "THEBE_JS_URL" not in html


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


@pytest.mark.parametrize("page", NOTEBOOK_PAGES)
def test_the_download_button_gives_the_jupyter_edition_of_the_notebook(built_book, page):
    html = _page(built_book, f"{page}.html")
    folder = page.split("/")[0]
    links = re.findall(r'href="([^"]*_sources/[^"]+\.ipynb)"', html)
    assert links, "no download button for the .ipynb"
    downloaded = (built_book / folder / links[0]).resolve()
    assert downloaded.read_bytes() == (ROOT / EDITION_DIR / f"{page}.ipynb").read_bytes()
    notebook = nbformat.reads(downloaded.read_text(encoding="utf-8"), as_version=4)
    assert [leftover for cell in notebook.cells if cell.cell_type == "markdown"
            for leftover in myst_leftovers(cell.source)] == []


@pytest.mark.parametrize("page", NOTEBOOK_PAGES)
def test_notebook_pages_launch_the_jupyter_edition_on_binder_and_colab_from_the_repository(
        built_book, page):
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    url, branch = config["repository"]["url"], config["repository"]["branch"]
    owner_repo = url.removeprefix("https://github.com/")
    html = _page(built_book, f"{page}.html")
    binder = (f"{config['launch_buttons']['binderhub_url']}/v2/gh/{owner_repo}/{branch}"
              f"?urlpath=lab/tree/{EDITION_DIR}/{page}.ipynb")
    colab = (f"{config['launch_buttons']['colab_url']}/github/{owner_repo}/blob/{branch}"
             f"/{EDITION_DIR}/{page}.ipynb")
    assert (ROOT / EDITION_DIR / f"{page}.ipynb").is_file()
    assert f'href="{binder}"' in html
    assert f'href="{colab}"' in html


def test_citations_resolve_to_the_bibliography(built_book):
    chapter = _page(built_book, f"book/{CHAPTERS[0]}.html")
    references = _page(built_book, "book/references.html")
    cited = set(re.findall(r'href="references.html#id\d+"', chapter))
    assert cited
    assert "Kayhan" in references and "Goodfellow" in references


def _bib_entries() -> dict[str, str]:
    text = (ROOT / "book" / "references.bib").read_text(encoding="utf-8")
    return {match.group(1): match.group(0)
            for match in re.finditer(r"@\w+\{([^,\s]+),.*?\n\}", text, flags=re.DOTALL)}


def _cited_keys() -> set[str]:
    sources = [path for folder in ("book", "solutions") for path in (ROOT / folder).glob("*")
               if path.suffix in (".ipynb", ".md")]
    return {key.strip() for path in sources
            for keys in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", path.read_text("utf-8"))
            for key in keys.split(",")}


def test_every_cited_work_is_in_the_bibliography_with_a_doi_or_url():
    entries, cited = _bib_entries(), _cited_keys()
    assert cited, "no citation found"
    assert cited <= set(entries), sorted(cited - set(entries))
    without_link = [key for key, entry in entries.items()
                    if not re.search(r"^\s*(doi|url)\s*=", entry, flags=re.MULTILINE)]
    assert without_link == []


def test_the_references_page_lists_every_cited_work_with_its_link(built_book):
    references = _page(built_book, "book/references.html")
    items = re.findall(r'<div class="citation" id="[^"]+" role="listitem">(.*?)</div>',
                       references, flags=re.DOTALL)
    assert len(items) == len(_cited_keys())
    without_link = [item[:120] for item in items if 'href="https://' not in item]
    assert without_link == []


def test_the_execution_status_page_lists_every_executed_notebook(built_book):
    page = _page(built_book, "book/execution_status.html")
    for name in NOTEBOOK_PAGES:
        assert f">{name}<" in page or f"{name}.html" in page, name


def test_the_glossary_defines_the_terms_the_pages_link(built_book):
    glossary = _page(built_book, "book/glossary.html")
    chapter = _page(built_book, f"book/{CHAPTERS[0]}.html")
    linked = set(re.findall(r'href="glossary.html#(term-[^"]+)"', chapter))
    assert linked, "the first chapter links no glossary term"
    for anchor in linked:
        assert f'id="{anchor}"' in glossary, anchor


def test_the_site_root_sends_readers_to_the_introduction(built_book):
    index = _page(built_book, "index.html")
    root = toc_pages()[0]
    assert f'url={root}.html"' in index and 'rel="icon"' in index
    assert (built_book / "favicon.svg").is_file()


def _tiny_book(folder: Path, intro: str, notebook: str | None = None) -> str:
    """Build a one- or two-page book with the course's configuration; return the log."""
    (folder / "book").mkdir()
    shutil.copy(ROOT / "_config.yml", folder / "_config.yml")
    shutil.copy(ROOT / "book" / "references.bib", folder / "book" / "references.bib")
    shutil.copytree(ROOT / "book" / "_extra", folder / "book" / "_extra")
    toc = "format: jb-book\nroot: book/intro\n"
    (folder / "book" / "intro.md").write_text(intro, encoding="utf-8")
    if notebook is not None:
        toc += "chapters:\n  - file: book/notebook\n"
        (folder / "book" / "notebook.ipynb").write_text(notebook, encoding="utf-8")
    (folder / "_toc.yml").write_text(toc, encoding="utf-8")
    command = [book_build_command()[0], "build", str(folder), *BOOK_BUILD_ARGUMENTS[2:]]
    result = subprocess.run(command, cwd=folder, capture_output=True, text=True)
    assert result.returncode != 0, "the build passed"
    return result.stdout + result.stderr


def test_a_failing_notebook_fails_the_build_instead_of_shipping_a_page_without_outputs(
        tmp_path):
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("# Fails"),
               nbformat.v4.new_code_cell("raise RuntimeError('this notebook fails on purpose')")],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}})
    log = _tiny_book(tmp_path, "# Intro\n", nbformat.writes(notebook))
    assert "this notebook fails on purpose" in log
    assert not (tmp_path / "_build" / "html" / "book" / "notebook.html").exists()


def test_a_broken_reference_fails_the_build(tmp_path):
    log = _tiny_book(tmp_path, "# Intro\n\nSee {doc}`nowhere` and {term}`no such term`.\n")
    assert "unknown document: 'nowhere'" in log
    assert "term not in glossary: 'no such term'" in log


def test_the_book_build_command_treats_warnings_as_errors():
    assert {"--warningiserror", "--nitpick", "--keep-going"} <= set(BOOK_BUILD_ARGUMENTS)
    assert Path(book_build_command()[0]).name == "jupyter-book"


@pytest.mark.parametrize("page", toc_pages())
def test_every_figure_and_slider_frame_has_alt_text_that_says_what_it_shows(built_book, page):
    html = _page(built_book, f"{page}.html")
    images = re.findall(r"<img\b[^>]*>", html)
    missing = [image[:120] for image in images if not re.search(r'\balt="[^"]+"', image)]
    assert missing == []
    for image in images:
        source = re.search(r'\bsrc="([^"]*)"', image).group(1)
        if "_images/" not in source and "shiftlab-frame" not in image:
            continue  # the theme's logos
        alt = html_unescape(re.search(r'\balt="([^"]*)"', image).group(1))
        assert len(alt.split()) >= 5, alt
        assert not re.search(r"\.(png|svg|jpe?g)\b", alt) and source not in alt, alt
