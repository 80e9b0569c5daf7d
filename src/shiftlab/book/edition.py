"""The Jupyter edition: the course's notebooks in plain Markdown, for JupyterLab, Colab and GitHub.

The book's notebooks (``book/``, ``solutions/``) are written in MyST: glossary terms, citations,
cross-references, glued numbers, sphinx-proof statements, admonitions and footnotes. Jupyter Book
turns them into a page; JupyterLab, Binder, Colab and GitHub render plain Markdown and would show
the MyST as it is typed. So every notebook a learner opens is *generated* from its MyST source,
in plain Markdown (CommonMark with tables and ``$`` math), the way ``lessons/`` is generated from
``solutions/``:

- ``{term}`` becomes a link to the term in the online book's glossary; ``{cite}`` the author and
  year, linked to its references page; ``{doc}``, ``{ref}`` and ``{prf:ref}`` links to the page
  (and anchor) of the online book, with the title or the number the book gives them;
  ``{download}`` a link to the file in the repository;
- sphinx-proof statements become a bold "**Proposition 4.1** (title)." paragraph, numbered as in
  the book, proofs start with *Proof.* and end with ∎; admonitions become block quotes with a
  bold title; footnotes become superscript numbers with the note where it was written; labels
  and MyST comments are dropped;
- a passage that quotes a glued number (``{glue:text}`name:fmt```) cannot be plain Markdown: the
  number is only known when the notebook runs. It becomes a code cell whose source is hidden
  (``metadata.jupyter.source_hidden`` for JupyterLab, ``cellView: form`` and ``#@title`` for
  Colab) and whose output is the passage, with the values the learner's kernel just computed
  (``shiftlab.book.paste``; ``glue`` keeps the values in the kernel for it);
- code cells are kept as they are; a cell tagged ``hide-input`` or ``remove-input`` in the book
  shows its output with the source hidden.

Links go to the online book at ``book_url``: the GitHub Pages site of the repository named in
``_config.yml`` (https://OWNER.github.io/REPO/), where the book workflow publishes it. A role or
directive this module does not know stops the generation with the file and cell to fix, so a new
chapter cannot leak raw MyST to a learner.

The edition is written by ``python -m shiftlab.book.authoring notebooks`` (with lessons/); the tests
check that it is up to date and that no notebook a learner is given contains a MyST role or
directive (``myst_leftovers``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import nbformat

from shiftlab import _validate

EDITION_DIR = "notebooks"
"""The folder of the Jupyter edition: ``notebooks/book/`` and ``notebooks/solutions/``."""

SOURCE_DIRS = ("book", "solutions")
"""The folders whose notebooks have a Jupyter edition (lessons/ are generated plain already)."""

ROLE = re.compile(r"\{(?P<name>[a-zA-Z][\w:.-]*)\}`(?P<body>[^`]*)`")
"""A MyST role: ``{name}`body```."""

INLINE = re.compile(ROLE.pattern + r"|(?P<code>``[^`].*?``|`[^`\n]+`)")
"""A role or a span of inline code, whichever starts first."""

FENCE = re.compile(r"^(?P<indent> {0,3})(?P<marks>`{3,}|:{3,})\s*(?P<rest>.*)$")
"""The first line of a code fence or a directive (``{name}`` after the marks)."""

GLUE_SLOT = re.compile(r"\{\{(?P<name>[A-Za-z_]\w*)(?::(?P<fmt>[^{}]*))?\}\}")
"""Where a glued value goes in a passage given to ``shiftlab.book.paste``: ``{{name:fmt}}``."""

STATEMENTS = {"definition", "theorem", "proposition", "lemma", "corollary", "remark",
              "example", "conjecture", "axiom", "property", "observation", "criterion",
              "assumption", "notation", "algorithm"}
"""sphinx-proof directives that state something, numbered per kind in a chapter."""

ADMONITIONS = {"note", "tip", "hint", "important", "warning", "caution", "attention", "danger",
               "error", "seealso"}
"""Admonitions that take their title from their name."""

PASTE_TITLE = "Text with this run's numbers (shown when the cell runs)"
"""The Colab form title of a passage with glued numbers."""


class EditionError(ValueError):
    """A notebook cannot be written in plain Markdown; the message names the file and cell."""


# --- what the book knows: pages, titles, labels, terms, references ------------------------

@dataclass
class Target:
    """A place a reference can point to: a page, with an anchor and the text the book shows."""

    doc: str
    anchor: str = ""
    text: str = ""

    def __post_init__(self) -> None:
        for name in ("doc", "anchor", "text"):
            _validate.text(getattr(self, name), name)


@dataclass
class Book:
    """Everything the conversion looks up, read once from the course's sources."""

    url: str
    repository: str
    branch: str
    titles: dict[str, str] = field(default_factory=dict)
    labels: dict[str, Target] = field(default_factory=dict)
    terms: dict[str, str] = field(default_factory=dict)
    references: dict[str, tuple[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("url", "repository", "branch"):
            _validate.text(getattr(self, name), name)
        for name in ("titles", "labels", "terms", "references"):
            _validate.mapping(getattr(self, name), name, nonempty=False)

    def page(self, doc: str, anchor: str = "") -> str:
        _validate.text(doc, "doc")
        _validate.text(anchor, "anchor")
        """The URL of ``doc`` (``book/04_pooling``) in the online book."""
        return f"{self.url}{doc}.html" + (f"#{anchor}" if anchor else "")

    def file(self, path: str) -> str:
        _validate.text(path, "path")
        """The URL of a file of the repository on GitHub."""
        return f"{self.repository}/blob/{self.branch}/{path}"


def book_url(repository: str) -> str:
    """The GitHub Pages URL of a GitHub repository: https://OWNER.github.io/REPO/."""
    _validate.text(repository, "repository")
    match = re.fullmatch(r"https://github\.com/(?P<owner>[\w.-]+)/(?P<repo>[\w.-]+?)/?",
                         repository)
    if match is None:
        raise EditionError(f"repository must look like https://github.com/OWNER/REPO, got "
                           f"{repository!r}")
    owner, repo = match["owner"].lower(), match["repo"]
    if repo.lower() == f"{owner}.github.io":
        return f"https://{owner}.github.io/"
    return f"https://{owner}.github.io/{repo}/"


def _markdown_cells(path: Path) -> list[str]:
    if path.suffix == ".md":
        return [path.read_text(encoding="utf-8")]
    notebook = nbformat.read(path, as_version=4)
    return [cell.source for cell in notebook.cells if cell.cell_type == "markdown"]


def _title(texts: list[str]) -> str:
    for text in texts:
        match = re.search(r"^# (.+)$", text, flags=re.MULTILINE)
        if match:
            return _plain_title(match.group(1).strip())
    return ""


def _plain_title(text: str) -> str:
    """A heading as text: roles reduced to their text."""
    return ROLE.sub(lambda m: _role_text(m["body"]), text)


def _role_text(body: str) -> str:
    match = re.fullmatch(r"(?P<text>.*?)\s*<(?P<target>[^<>]+)>", body, flags=re.DOTALL)
    return match["text"] if match else body


def _glossary_terms(path: Path) -> dict[str, str]:
    """``{term lowercased: anchor}`` of the ``{glossary}`` directive in ``path``."""
    from docutils.nodes import make_id

    text = path.read_text(encoding="utf-8")
    block = re.search(r"^```\{glossary\}.*?\n(?P<body>.*?)^```", text,
                      flags=re.MULTILINE | re.DOTALL)
    if block is None:
        return {}
    terms = {}
    for line in block["body"].splitlines():
        if line and not line[0].isspace() and not line.startswith(":"):
            term = line.strip()
            terms[term.lower()] = make_id("term-" + term)
    return terms


def _references(path: Path) -> dict[str, tuple[str, str]]:
    """``{key: (authors as cited, year)}`` of a BibTeX file."""
    from pybtex.database import parse_file

    references = {}
    for key, entry in parse_file(str(path)).entries.items():
        people = entry.persons.get("author") or entry.persons.get("editor") or []
        names = [" ".join(person.last_names).replace("{", "").replace("}", "")
                 for person in people]
        if len(names) >= 3:
            authors = f"{names[0]} *et al.*"
        elif len(names) == 2:
            authors = f"{names[0]} and {names[1]}"
        else:
            authors = names[0] if names else key
        references[key] = (authors, entry.fields.get("year", "n.d."))
    return references


def _statement_labels(doc: str, texts: list[str]) -> dict[str, Target]:
    """The ``{prf:...}`` labels of a page with the numbers the book gives them, and the
    ``(label)=`` targets with the title of the section that follows."""
    labels: dict[str, Target] = {}
    counts: Counter[str] = Counter()
    prefix = _number_prefix(doc)
    for text in texts:
        for match in STATEMENT_OPENING.finditer(text):
            kind = match["kind"]
            if kind not in STATEMENTS:
                continue
            counts[kind] += 1
            label = re.search(r":label:\s*(\S+)", match["options"])
            if label:
                labels[label.group(1)] = Target(
                    doc, label.group(1), f"{kind.capitalize()} {prefix}{counts[kind]}")
        for match in re.finditer(r"^\((?P<label>[\w.-]+)\)=\s*\n+#+\s+(?P<title>.+)$", text,
                                 flags=re.MULTILINE):
            labels[match["label"]] = Target(doc, match["label"], _plain_title(match["title"]))
    return labels


STATEMENT_OPENING = re.compile(
    r"^(?:`{3,}|:{3,})\{prf:(?P<kind>\w+)\}[^\n]*\n(?P<options>(?:[ \t]*:\w+:[^\n]*\n)*)",
    flags=re.MULTILINE)
"""The first line of a sphinx-proof directive and its options."""


def _number_prefix(doc: str) -> str:
    """``"4."`` for chapter ``book/04_pooling`` (the book numbers statements per chapter)."""
    match = re.fullmatch(r"book/(?P<number>\d\d)_\w+", doc)
    return f"{int(match['number'])}." if match else ""


def read_book(root: Path) -> Book:
    """What the conversion needs to know about the course in ``root``."""
    root = _validate.path(root, "root", exists="dir")
    import yaml

    root = Path(root)
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    repository = (config.get("repository") or {})
    url = repository.get("url")
    if not isinstance(url, str):
        raise EditionError("_config.yml must set repository.url")
    book = Book(book_url(url), url.rstrip("/"), str(repository.get("branch") or "main"))
    for folder in SOURCE_DIRS:
        for path in sorted((root / folder).glob("*")):
            if path.suffix not in (".ipynb", ".md"):
                continue
            doc = f"{folder}/{path.stem}"
            texts = _markdown_cells(path)
            book.titles[doc] = _title(texts)
            book.labels.update(_statement_labels(doc, texts))
    glossary = root / "book" / "glossary.md"
    if glossary.is_file():
        book.terms = _glossary_terms(glossary)
    for name in config.get("bibtex_bibfiles") or []:
        book.references.update(_references(root / name))
    return book


# --- MyST to plain Markdown -----------------------------------------------------------------

@dataclass
class Page:
    """One notebook being converted: where it is, and its footnotes so far."""

    book: Book
    doc: str
    where: str
    footnotes: dict[str, int] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        if not isinstance(self.book, Book):
            raise TypeError(f"book must be an edition.Book, got {type(self.book).__name__}")
        _validate.text(self.doc, "doc")
        _validate.text(self.where, "where")
        _validate.mapping(self.footnotes, "footnotes", nonempty=False)
        _validate.mapping(self.counts, "counts", nonempty=False)

    def footnote(self, name: str) -> str:
        _validate.text(name, "name")
        """The mark of footnote ``name``: its number, in the order of first use, superscript."""
        number = self.footnotes.setdefault(name, len(self.footnotes) + 1)
        return f"<sup>{number}</sup>"

    def fail(self, message: str) -> EditionError:
        _validate.text(message, "message")
        return EditionError(f"{self.where}: {message}")

    def resolve(self, target: str) -> str:
        """A ``{doc}`` target relative to this page, as a doc name (``book/setup``)."""
        _validate.text(target, "target")
        if target.startswith("/"):
            return target.lstrip("/")
        parts: list[str] = list(PurePosixPath(self.doc).parent.parts)
        for part in PurePosixPath(target).parts:
            if part == "..":
                if not parts:
                    raise self.fail(f"{target!r} leaves the repository")
                parts.pop()
            elif part != ".":
                parts.append(part)
        return str(PurePosixPath(*parts)).removesuffix(".ipynb").removesuffix(".md")


def _split_target(body: str) -> tuple[str | None, str]:
    match = re.fullmatch(r"(?P<text>.*?)\s*<(?P<target>[^<>]+)>", body.strip(), flags=re.DOTALL)
    if match:
        return match["text"], " ".join(match["target"].split())
    return None, " ".join(body.split())


def _link(text: str, url: str) -> str:
    return f"[{text}]({url})"


def _role(page: Page, name: str, body: str) -> str:
    book = page.book
    if name in ("glue", "glue:text"):
        key, _, fmt = body.rpartition(":") if ":" in body else (body, "", "")
        if "::" in body:
            raise page.fail(f"{{{name}}}`{body}` glues from another notebook; the Jupyter "
                            "edition can only show this notebook's values")
        if not key.isidentifier():
            raise page.fail(f"{{{name}}}`{body}`: not a glued name")
        return "{{" + key + (f":{fmt}" if fmt else "") + "}}"
    if name == "term":
        text, target = _split_target(body)
        anchor = book.terms.get(target.lower())
        if anchor is None:
            raise page.fail(f"{{term}}`{body}`: {target!r} is not in the glossary")
        return _link(text or target, book.page("book/glossary", anchor))
    if name in ("cite", "cite:p", "cite:t"):
        keys = [key.strip() for key in body.split(",") if key.strip()]
        unknown = [key for key in keys if key not in book.references]
        if unknown:
            raise page.fail(f"{{{name}}}`{body}`: {unknown} not in the bibliography")
        url = book.page("book/references")
        if name == "cite:t":
            return "; ".join(f"{book.references[key][0]} [{_link(book.references[key][1], url)}]"
                             for key in keys)
        cited = "; ".join(f"{book.references[key][0]}, {book.references[key][1]}"
                          for key in keys)
        return f"[{_link(cited, url)}]"
    if name == "doc":
        text, target = _split_target(body)
        doc = page.resolve(target)
        title = text or book.titles.get(doc)
        if not title:
            raise page.fail(f"{{doc}}`{body}`: no page {doc!r} with a title")
        return _link(title, book.page(doc))
    if name in ("ref", "prf:ref", "numref"):
        text, label = _split_target(body)
        found = book.labels.get(label)
        if found is None:
            raise page.fail(f"{{{name}}}`{body}`: no label {label!r} in the book's sources")
        return _link(text or found.text, book.page(found.doc, found.anchor))
    if name == "download":
        text, target = _split_target(body)
        path = page.resolve(target)
        suffix = PurePosixPath(target).suffix
        return _link(text or PurePosixPath(target).name, book.file(path + suffix
                     if not path.endswith(suffix) else path))
    if name == "math":
        return f"${body}$"
    if name in ("sub", "sup"):
        return f"<{name}>{body}</{name}>"
    raise page.fail(f"the role {{{name}}} has no plain-Markdown form; add it to "
                    "shiftlab.book.edition or write the text without it")


def _inline(page: Page, text: str) -> str:
    """Roles, footnote references and footnote definitions of a run of Markdown lines."""
    out = []
    for line in text.split("\n"):
        definition = re.match(r"^\[\^(?P<name>[^\]]+)\]:\s*", line)
        if definition:
            line = f"{page.footnote(definition['name'])} " + line[definition.end():]
        line = re.sub(r"\[\^(?P<name>[^\]]+)\]", lambda m: page.footnote(m["name"]), line)
        out.append(line)
    text = "\n".join(out)
    # A role, or inline code (left alone: a role inside backticks is an example of one).
    return INLINE.sub(lambda m: m.group(0) if m["code"] else _role(page, m["name"], m["body"]),
                      text)


def _quote(text: str) -> str:
    """``text`` as a Markdown block quote; display math on one line, since JupyterLab takes
    math out before it parses the quote, and would keep the ``>`` of a second line."""
    text = re.sub(r"\$\$(.+?)\$\$", lambda m: "$$" + " ".join(m.group(1).split()) + "$$",
                  text, flags=re.DOTALL)
    return "\n".join("> " + line if line.strip() else ">" for line in text.strip().split("\n"))


def _lead(head: str, body: str) -> str:
    """``head`` run into the first paragraph of ``body``, unless that starts a block of its
    own (display math, a list, a table, a fence, a quote, a heading)."""
    if not body or re.match(r"^(\$\$|[-*+] |\d+\. |\||```|:::|>|#)", body):
        return f"{head}\n\n{body}".rstrip()
    return f"{head} {body}"


def _options(lines: list[str]) -> tuple[dict[str, str], list[str]]:
    options: dict[str, str] = {}
    index = 0
    while index < len(lines):
        match = re.match(r"^\s*:(?P<key>[\w-]+):\s*(?P<value>.*)$", lines[index])
        if not match:
            break
        options[match["key"]] = match["value"].strip()
        index += 1
    return options, lines[index:]


def _directive(page: Page, name: str, argument: str, lines: list[str]) -> str:
    _, body_lines = _options(lines)  # :label: and :class: have no plain-Markdown form
    body = convert_markdown(page, "\n".join(body_lines)).strip()
    kind = name.removeprefix("prf:")
    if name.startswith("prf:") and kind in STATEMENTS:
        page.counts[kind] += 1
        number = f"{_number_prefix(page.doc)}{page.counts[kind]}"
        title = f" ({_inline(page, argument.strip())})" if argument.strip() else ""
        return _quote(_lead(f"**{kind.capitalize()} {number}**{title}.", body))
    if name == "prf:proof":
        return _lead("*Proof.*", body) + " ∎"
    if name == "admonition":
        if not argument.strip():
            raise page.fail("an admonition needs a title")
        return _quote(f"**{_inline(page, argument.strip())}**\n\n{body}")
    if name in ADMONITIONS:
        title = "See also" if name == "seealso" else name.capitalize()
        extra = f" {_inline(page, argument.strip())}" if argument.strip() else ""
        return _quote(f"**{title}**{extra}\n\n{body}")
    if name == "math":
        return "$$\n" + "\n".join(body_lines).strip() + "\n$$"
    raise page.fail(f"the directive {{{name}}} has no plain-Markdown form; add it to "
                    "shiftlab.book.edition or write the text without it")


def convert_markdown(page: Page, text: str) -> str:
    """MyST Markdown to plain Markdown (see the module docstring); glued numbers become
    ``{{name:fmt}}`` slots for ``shiftlab.book.paste``."""
    if not isinstance(page, Page):
        raise TypeError(f"page must be an edition.Page, got {type(page).__name__}")
    _validate.text(text, "text")
    lines = text.split("\n")
    out: list[str] = []
    prose: list[str] = []

    def flush() -> None:
        if prose:
            out.append(_inline(page, "\n".join(prose)))
            prose.clear()

    index = 0
    while index < len(lines):
        line = lines[index]
        fence = FENCE.match(line)
        if fence:
            marks, rest = fence["marks"], fence["rest"]
            end = index + 1
            closing = re.compile(rf"^ {{0,3}}{re.escape(marks[0])}{{{len(marks)},}}\s*$")
            while end < len(lines) and not closing.match(lines[end]):
                end += 1
            if end == len(lines):
                raise page.fail(f"the fence {line.strip()!r} is never closed")
            directive = re.match(r"^\{(?P<name>[\w:.-]+)\}\s*(?P<argument>.*)$", rest)
            flush()
            if directive:
                out.append(_directive(page, directive["name"], directive["argument"],
                                      lines[index + 1:end]))
            elif marks[0] == ":":
                raise page.fail(f"{line.strip()!r}: a colon fence without a directive")
            else:
                out.append("\n".join(lines[index:end + 1]))  # a code block, as it is
            index = end + 1
            continue
        if re.match(r"^\([\w.-]+\)=\s*$", line) or re.match(r"^%", line) or line == "+++":
            index += 1  # a label, a MyST comment, a block break: nothing to show
            if line != "+++" and not line.startswith("%") and index < len(lines) \
                    and not lines[index].strip():
                index += 1
            continue
        prose.append(line)
        index += 1
    flush()
    return "\n".join(out)


def myst_leftovers(text: str) -> list[str]:
    """The MyST roles, directives, labels and footnotes left in ``text`` (empty if none)."""
    _validate.text(text, "text")
    found = [m.group(0) for m in ROLE.finditer(text)]
    found += re.findall(r"^ {0,3}(?:`{3,}|:{3,})\s*\{[\w:.-]+\}.*$", text, flags=re.MULTILINE)
    found += re.findall(r"^\([\w.-]+\)=\s*$", text, flags=re.MULTILINE)
    found += re.findall(r"\[\^[^\]]+\]", text)
    found += re.findall(r"^:{3,}\s*$", text, flags=re.MULTILINE)
    return found


# --- notebooks -----------------------------------------------------------------------------

HIDDEN_INPUT_TAGS = {"hide-input", "remove-input"}
"""Cell tags with which the book shows a cell's output without its code."""


def paste_cell(markdown: str, where: str) -> nbformat.NotebookNode:
    """A code cell whose hidden source shows ``markdown`` with this run's glued values."""
    _validate.text(markdown, "markdown")
    _validate.text(where, "where")
    if '"""' in markdown or markdown.endswith("\\"):
        raise EditionError(f"{where}: a passage with glued numbers cannot hold '\"\"\"' or end "
                           "with a backslash")
    source = (f"#@title {PASTE_TITLE}\n"
              "from shiftlab.book import paste\n\n"
              f'paste(r"""\n{markdown}\n""")')
    return nbformat.v4.new_code_cell(source, metadata={
        "jupyter": {"source_hidden": True}, "cellView": "form",
        "tags": ["shiftlab-paste"]})


def _blocks(text: str) -> list[str]:
    """``text`` split at blank lines outside code fences and display math."""
    blocks, current, fence, math = [], [], None, False
    for line in text.split("\n"):
        if fence is None and not math and not line.strip():
            if current:
                blocks.append("\n".join(current))
                current = []
            continue
        current.append(line)
        match = FENCE.match(line)
        if fence is None and match:
            fence = match["marks"]
        elif fence is not None and re.match(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*$",
                                            line):
            fence = None
        elif fence is None and line.count("$$") % 2 == 1:
            math = not math
    if current:
        blocks.append("\n".join(current))
    return blocks


def plain_cells(page: Page, source: str) -> list[nbformat.NotebookNode]:
    """The cells that show a markdown cell's ``source`` in plain Markdown: markdown cells, and
    a hidden code cell (``paste_cell``) for each run of blocks that quotes a glued number."""
    if not isinstance(page, Page):
        raise TypeError(f"page must be an edition.Page, got {type(page).__name__}")
    _validate.text(source, "source")
    text = convert_markdown(page, source)
    cells: list[nbformat.NotebookNode] = []
    run: list[str] = []
    glued: bool | None = None

    def close() -> None:
        if run:
            joined = "\n\n".join(run)
            cells.append(paste_cell(joined, page.where) if glued
                         else nbformat.v4.new_markdown_cell(joined))
            run.clear()

    for block in _blocks(text):
        has_glue = bool(GLUE_SLOT.search(block))
        if has_glue and "{{" in GLUE_SLOT.sub("", block):
            raise page.fail("'{{' in the text would be read as a glued value; write it "
                            "differently")
        if glued is not None and has_glue != glued:
            close()
        glued = has_glue
        run.append(block)
    close()
    leftovers = [found for cell in cells for found in myst_leftovers(cell.source)]
    if leftovers:
        raise page.fail(f"MyST left after the conversion: {leftovers[:3]}")
    return cells


def plain_notebook(notebook: nbformat.NotebookNode, book: Book, doc: str,
                   where: str) -> nbformat.NotebookNode:
    """``notebook`` (which is left unchanged) with its prose in plain Markdown."""
    _validate.notebook(notebook, "notebook")
    if not isinstance(book, Book):
        raise TypeError(f"book must be an edition.Book, got {type(book).__name__}")
    _validate.text(doc, "doc")
    _validate.text(where, "where")
    if book.titles and doc not in book.titles:
        raise EditionError(f"doc must be a page of the book, e.g. {next(iter(book.titles))!r}, "
                           f"got {doc!r}")
    page = Page(book, doc, where)
    cells = []
    for index, cell in enumerate(notebook.cells):
        page.where = f"{where}, cell {index}"
        identifier = cell.get("id") or f"{_stem(doc)}-{index}"
        if cell.cell_type == "markdown":
            for part, new in enumerate(plain_cells(page, cell.source)):
                if new.cell_type == "markdown" and cell.get("metadata"):
                    new.metadata = nbformat.from_dict(dict(cell.metadata))
                # A cell keeps its id (nbgrader and diffs match cells by it); the extra cells
                # of a split one get the id with their number.
                new["id"] = identifier if part == 0 else f"{identifier}-{part}"[:64]
                cells.append(new)
            continue
        cell = nbformat.from_dict(dict(cell))
        cell["id"] = identifier
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            if HIDDEN_INPUT_TAGS & set(cell.get("metadata", {}).get("tags", [])):
                cell.metadata.setdefault("jupyter", {})["source_hidden"] = True
        cells.append(cell)
    plain = nbformat.from_dict(dict(notebook))
    plain.cells = cells
    plain.nbformat, plain.nbformat_minor = 4, 5
    return plain


def _stem(doc: str) -> str:
    return re.sub(r"[^A-Za-z0-9-]", "-", PurePosixPath(doc).name)[:40]


def edition_path(root: Path, source: Path) -> Path:
    """Where the Jupyter edition of ``book/NAME.ipynb`` (or solutions/) is written."""
    root = _validate.path(root, "root", exists="dir")
    source = _validate.path(source, "source")
    if not source.is_relative_to(root):
        raise ValueError(f"source must lie inside root {str(root)!r}, got {str(source)!r}")
    return Path(root) / EDITION_DIR / source.relative_to(root)


def edition_sources(root: Path) -> list[Path]:
    """The notebooks that have a Jupyter edition."""
    root = _validate.path(root, "root", exists="dir")
    return [path for folder in SOURCE_DIRS for path in sorted((Path(root) / folder)
                                                                  .glob("*.ipynb"))]


def generate_edition(root: Path, text: Callable[[nbformat.NotebookNode], str],
                     book: Book | None = None) -> dict[Path, str]:
    """Map each edition path to its text (``text`` writes a notebook as the repository does)."""
    root = _validate.path(root, "root", exists="dir")
    _validate.function(text, "text")
    if book is not None and not isinstance(book, Book):
        raise TypeError(f"book must be an edition.Book or None, got {type(book).__name__}")
    root = Path(root)
    book = book or read_book(root)
    generated = {}
    for source in edition_sources(root):
        relative = source.relative_to(root)
        doc = str(relative.with_suffix("").as_posix())
        notebook = plain_notebook(nbformat.read(source, as_version=4), book, doc,
                                  str(relative))
        notebook.metadata["shiftlab"] = {
            "generated_from": relative.as_posix(),
            "note": "the Jupyter edition, generated by `python -m shiftlab.book.authoring "
                    "notebooks`; edit the source instead",
        }
        generated[edition_path(root, source)] = text(notebook)
    return generated
