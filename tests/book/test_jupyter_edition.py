"""The notebooks a learner is given read right in JupyterLab and Colab: no MyST, numbers filled in.

The Jupyter edition (``notebooks/``) and the lessons are generated from the MyST sources
(``shiftlab.book.edition``); these tests check the conversion rule by rule, that the generated
notebooks are up to date and contain no MyST, and that glued values are pasted in the kernel as
the book formats them.
"""

import json
from pathlib import Path

import nbformat
import pytest
from book_pages import ROOT

from shiftlab import book as glue_module
from shiftlab.book import MISSING, format_glued, glue, paste, pasted
from shiftlab.book.authoring import main, notebook_text, stale_notebooks
from shiftlab.book.edition import (
    EDITION_DIR,
    PASTE_TITLE,
    Book,
    EditionError,
    Page,
    Target,
    book_url,
    convert_markdown,
    edition_sources,
    myst_leftovers,
    plain_cells,
    read_book,
)

URL = "https://someone.github.io/course/"

LEARNER_NOTEBOOKS = sorted([*(ROOT / "lessons").glob("*.ipynb"),
                            *(ROOT / EDITION_DIR).rglob("*.ipynb")])
"""Every notebook a learner opens: the lessons and the Jupyter edition."""


@pytest.fixture
def page() -> Page:
    course = Book(URL, "https://github.com/someone/course", "main",
                  titles={"book/glossary": "Glossary", "book/02_conv": "Convolution"},
                  labels={"prop-a": Target("book/02_conv", "prop-a", "Proposition 2.1"),
                          "sec": Target("book/guide", "sec", "Editing")},
                  terms={"circular shift": "term-circular-shift"},
                  references={"smith2020": ("Smith and Jones", "2020"),
                              "lee2019": ("Lee *et al.*", "2019")})
    return Page(course, "book/01_first", "book/01_first.ipynb, cell 3")


@pytest.mark.parametrize(("myst", "plain"), [
    ("the {term}`circular shift`",
     f"the [circular shift]({URL}book/glossary.html#term-circular-shift)"),
    ("{term}`shifts <circular shift>`",
     f"[shifts]({URL}book/glossary.html#term-circular-shift)"),
    ("{cite}`smith2020`", f"[[Smith and Jones, 2020]({URL}book/references.html)]"),
    ("{cite}`smith2020,lee2019`",
     f"[[Smith and Jones, 2020; Lee *et al.*, 2019]({URL}book/references.html)]"),
    ("{cite:t}`lee2019`", f"Lee *et al.* [[2019]({URL}book/references.html)]"),
    ("{doc}`02_conv`", f"[Convolution]({URL}book/02_conv.html)"),
    ("{doc}`chapter 2 <../book/02_conv>`", f"[chapter 2]({URL}book/02_conv.html)"),
    ("{prf:ref}`prop-a`", f"[Proposition 2.1]({URL}book/02_conv.html#prop-a)"),
    ("{ref}`sec`", f"[Editing]({URL}book/guide.html#sec)"),
    ("{download}`the lesson <../lessons/01_first.ipynb>`",
     "[the lesson](https://github.com/someone/course/blob/main/lessons/01_first.ipynb)"),
    ("{math}`x^2`", "$x^2$"),
    ("a `{term}` in code", "a `{term}` in code"),
    ("(sec-x)=\n## Title", "## Title"),
    ("% a MyST comment\ntext", "text"),
    ("word[^n] and[^m]\n\n[^n]: first\n[^m]: second",
     "word<sup>1</sup> and<sup>2</sup>\n\n<sup>1</sup> first\n<sup>2</sup> second"),
    ("```python\nx = {1: 2}\n```", "```python\nx = {1: 2}\n```"),
])
def test_each_myst_construct_becomes_plain_markdown(page, myst, plain):
    assert convert_markdown(page, myst) == plain


def test_statements_are_numbered_as_in_the_book_and_quoted_with_math_on_one_line(page):
    myst = ("```{prf:definition} Shift\n:label: def-shift\n\nThe shift is\n\n$$\na\n= b\n$$\n"
            "```\n\n```{prf:proof}\nObvious.\n```\n\n```{prf:definition}\nAgain.\n```")
    plain = convert_markdown(page, myst)
    assert plain.startswith("> **Definition 1.1** (Shift). The shift is\n>\n> $$a = b$$")
    assert "*Proof.* Obvious. ∎" in plain
    assert "> **Definition 1.2**. Again." in plain
    assert myst_leftovers(plain) == []


def test_admonitions_become_block_quotes_with_their_title(page):
    plain = convert_markdown(page, ":::{admonition} A question\n:class: tip\n\nAn answer.\n:::\n\n"
                                   "```{note}\nMind the border.\n```")
    assert plain == "> **A question**\n>\n> An answer.\n\n> **Note**\n>\n> Mind the border."


@pytest.mark.parametrize(("myst", "problem"), [
    ("{eq}`x`", "the role {eq}"),
    ("```{figure} x.png\n```", "the directive {figure}"),
    ("{term}`no such term`", "not in the glossary"),
    ("{cite}`nobody`", "not in the bibliography"),
    ("{prf:ref}`nowhere`", "no label"),
    ("{doc}`missing`", "no page"),
    ("{glue:text}`other::x`", "another notebook"),
    ("```{note}\nnever closed", "never closed"),
])
def test_what_has_no_plain_form_stops_the_generation_naming_the_cell(page, myst, problem):
    with pytest.raises(EditionError, match=problem) as raised:
        convert_markdown(page, myst)
    assert "book/01_first.ipynb, cell 3" in str(raised.value)


def test_a_passage_with_glued_numbers_becomes_a_hidden_code_cell_that_pastes_them(page):
    cells = plain_cells(page, "## Result\n\nIt is {glue:text}`error:.1e` here.\n\nThe end.")
    assert [cell.cell_type for cell in cells] == ["markdown", "code", "markdown"]
    code = cells[1]
    assert code.metadata["jupyter"]["source_hidden"] is True
    assert code.metadata["cellView"] == "form"  # Colab's form: the title, not the code
    assert code.source.startswith(f"#@title {PASTE_TITLE}\n")
    assert "It is {{error:.1e}} here." in code.source
    assert cells[0].source == "## Result" and cells[2].source == "The end."


def test_glued_values_are_pasted_as_the_book_formats_them(monkeypatch):
    monkeypatch.setattr(glue_module, "_glued", {})
    monkeypatch.setattr(glue_module, "display", lambda *args, **kwargs: None)
    glue("count", 64000)
    glue("share", 0.33412)
    glue("name", "zero padding")
    assert pasted("{{count:,}} values, {{share:.1%}} survive, {{name}}, $x^{2}$") == \
        "64,000 values, 33.4% survive, zero padding, $x^{2}$"
    shown = []
    monkeypatch.setattr(glue_module, "display", shown.append)
    paste("{{share:.2f}}")
    assert shown[0].data == "0.33"


def test_a_passage_that_quotes_a_value_glued_further_down_is_filled_in_when_it_is(
        monkeypatch):
    # The book resolves glue references after the whole notebook ran; in Jupyter the passage
    # shows "…" until the cell that glues the value runs, and then the value.
    monkeypatch.setattr(glue_module, "_glued", {})
    monkeypatch.setattr(glue_module, "_waiting", [])
    shown, updates = [], []

    class Handle:
        def update(self, markdown):
            updates.append(markdown.data)

    def fake_display(obj, *args, display_id=None, **kwargs):
        shown.append(getattr(obj, "data", obj))
        return Handle() if display_id else None

    monkeypatch.setattr(glue_module, "display", fake_display)
    assert pasted("{{later:.1f}}") == MISSING
    paste("first {{sooner}}, then {{later:.1f}}")
    assert shown[-1] == f"first {MISSING}, then {MISSING}"
    glue("sooner", 1)
    glue("later", 2.25)
    assert updates == [f"first 1, then {MISSING}", "first 1, then 2.2"]
    assert glue_module._waiting == []
    with pytest.raises(TypeError, match="template"):
        paste(3)


@pytest.mark.parametrize(("text", "fmt", "shown"), [
    ("0.125", "", "0.125"), ("0.125", ".1%", "12.5%"), ("3", "d", "3"), ("64000", ",", "64,000"),
    ("'text'", "", "text"), ("1e-07", ".1e", "1.0e-07"), ("tensor(2.)", "", "tensor(2.)"),
])
def test_glued_text_is_formatted_by_myst_nbs_rule(text, fmt, shown):
    from myst_nb.core.variables import format_plain_text

    assert format_glued(text, fmt) == shown
    assert format_glued(text, fmt) == format_plain_text(text, fmt or "s")


@pytest.mark.parametrize(("repository", "url"), [
    ("https://github.com/shiftlab-course/shiftlab", "https://shiftlab-course.github.io/shiftlab/"),
    ("https://github.com/Owner/Repo", "https://owner.github.io/Repo/"),
    ("https://github.com/owner/owner.github.io", "https://owner.github.io/"),
])
def test_the_online_book_is_the_github_pages_site_of_the_repository(repository, url):
    assert book_url(repository) == url
    with pytest.raises(EditionError, match="OWNER/REPO"):
        book_url("https://gitlab.com/a/b")


def test_the_course_is_read_with_every_title_label_term_and_reference():
    course = read_book(ROOT)
    assert course.url == book_url(course.repository)
    assert course.titles["book/glossary"] == "Glossary"
    assert course.terms and course.references
    assert any(target.text.startswith("Proposition ") for target in course.labels.values())


# --- the generated notebooks ----------------------------------------------------------------

def test_the_jupyter_edition_has_every_chapter_and_solution():
    expected = {path.relative_to(ROOT) for path in edition_sources(ROOT)}
    found = {path.relative_to(ROOT / EDITION_DIR) for path in (ROOT / EDITION_DIR).rglob("*.ipynb")}
    assert found == expected


def test_lessons_and_the_jupyter_edition_are_what_the_generator_writes():
    assert stale_notebooks(ROOT) == []


@pytest.mark.parametrize("path", LEARNER_NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_notebook_a_learner_is_given_contains_a_myst_role_or_directive(path):
    notebook = nbformat.read(path, as_version=4)
    prose = [cell.source for cell in notebook.cells if cell.cell_type == "markdown"]
    prose += [cell.source for cell in notebook.cells
              if "shiftlab-paste" in cell.metadata.get("tags", [])]
    found = [leftover for text in prose for leftover in myst_leftovers(text)]
    assert found == []
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")


@pytest.mark.parametrize("text", ["{term}`x`", "```{note}\nx\n```", ":::{admonition} A\nx\n:::",
                                  "(label)=\n# A", "a[^1]", "{glue:text}`x`"])
def test_the_myst_check_finds_each_kind_of_leftover(text):
    assert myst_leftovers(text) != []


def test_the_notebooks_command_reports_and_repairs_a_stale_notebook(tmp_path, capsys):
    for name in ("_config.yml", "_toc.yml"):
        (tmp_path / name).write_bytes((ROOT / name).read_bytes())
    for folder in ("book", "solutions", "lessons", EDITION_DIR):
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and ".ipynb_checkpoints" not in path.parts:
                target = tmp_path / path.relative_to(ROOT)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(path.read_bytes())
    arguments = ["notebooks", "--root", str(tmp_path)]
    assert main([*arguments, "--check"]) == 0
    chapter = tmp_path / EDITION_DIR / "book" / "01_invariance_equivariance.ipynb"
    chapter.write_text(chapter.read_text(encoding="utf-8").replace("Invariance", "Nothing"),
                       encoding="utf-8")
    assert main([*arguments, "--check"]) == 1
    assert chapter.name in capsys.readouterr().out
    assert main(arguments) == 0
    assert main([*arguments, "--check"]) == 0


def test_the_edition_keeps_the_code_cells_and_hides_the_code_the_book_hides():
    source = nbformat.read(ROOT / "book" / "intro.ipynb", as_version=4)
    edition = nbformat.read(ROOT / EDITION_DIR / "book" / "intro.ipynb", as_version=4)
    code = [cell for cell in edition.cells if cell.cell_type == "code"
            and "shiftlab-paste" not in cell.metadata.get("tags", [])]
    assert [cell.source for cell in code] == \
        [cell.source for cell in source.cells if cell.cell_type == "code"]
    for cell in code:
        hidden = {"hide-input", "remove-input"} & set(cell.metadata.get("tags", []))
        assert bool(hidden) == bool(cell.metadata.get("jupyter", {}).get("source_hidden"))
    assert edition.metadata["shiftlab"]["generated_from"] == "book/intro.ipynb"


def test_generated_notebooks_are_valid_nbformat_with_unique_cell_ids():
    for path in LEARNER_NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
        ids = [cell.id for cell in notebook.cells]
        assert len(ids) == len(set(ids)), path
        assert path.read_text(encoding="utf-8") == notebook_text(notebook)


def test_the_download_of_a_lesson_is_linked_from_the_chapter_edition():
    chapter = json.loads((ROOT / EDITION_DIR / "book" / "01_invariance_equivariance.ipynb")
                         .read_text(encoding="utf-8"))
    text = "".join("".join(cell["source"]) for cell in chapter["cells"])
    assert "/blob/main/lessons/01_invariance_equivariance.ipynb)" in text


def test_paths_in_the_edition_mirror_the_sources():
    for source in edition_sources(ROOT):
        assert (ROOT / EDITION_DIR / source.relative_to(ROOT)).is_file()
    assert Path(EDITION_DIR).name == "notebooks"
