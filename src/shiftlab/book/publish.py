"""Publishing the book: the student edition, and the repository a fork publishes from.

Run from the repository root::

    python -m shiftlab.book.publish student            # the book without solutions (_build/student)
    python -m shiftlab.book.publish repository https://github.com/OWNER/REPO  # a fork's URL
    python -m shiftlab.book.publish repository --check    # exit 1 unless every notebook agrees

**The student edition** is the book without its "Solutions to the exercises" part, for
instructors who do not want solutions online. It is built, with the same warnings-as-errors
command as the full book, from a generated copy of the sources in ``_build/student/source``:

- ``solutions/`` is left out, and so is the part of ``_toc.yml`` that lists it;
- in every chapter, the closing sentence ``The worked solutions are in {doc}`../solutions/NN`.``
  becomes ``STUDENT_SENTENCE``;
- any other link from a page to ``solutions/`` stops the command with the file and cell to fix,
  before anything is built;
- ``_config.yml`` points the build at the full book's jupyter-cache
  (``shiftlab.book.execution.cache_path``): a chapter's copy has the chapter's code cells, and the
  cache matches notebooks by their code alone, so a notebook executed for the full book is not
  executed again (the closing sentence is prose and does not matter). What the cache lacks is
  executed and added to it.

**The repository URL** appears in two places that must agree: ``repository.url`` in
``_config.yml`` (the book's launch and repository buttons) and the first code cell of every
notebook, which installs the course package on Colab (``colab_cell``). The course ships with the
placeholder ``PLACEHOLDER_URL``; a fork runs the ``repository`` command once with its own URL.
It also writes the generated notebooks again (``lessons/`` and the Jupyter edition
``notebooks/``), whose links point to the fork's online book.

The student edition's download buttons serve the Jupyter edition of its own chapters (with the
student closing sentence), generated into its source folder.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from shiftlab import _validate
from shiftlab.book.authoring import generate_notebooks, notebook_text
from shiftlab.book.bench import BOOK_BUILD_ARGUMENTS, book_build_command
from shiftlab.book.edition import EDITION_DIR, generate_edition
from shiftlab.book.execution import cache_path

PLACEHOLDER_URL = "https://github.com/shiftlab-course/shiftlab"
"""The repository URL the course ships with; a fork replaces it with ``repository``."""

NOTEBOOK_DIRS = ("book", "solutions", "lessons", f"{EDITION_DIR}/book", f"{EDITION_DIR}/solutions")
"""The folders whose notebooks start with the Colab install cell."""

SOLUTIONS_SENTENCE = re.compile(
    r"The\s+worked\s+solutions\s+are\s+in\s+\{doc\}`\.\./solutions/(?P<name>[0-9]{2}_\w+)`\."
)
"""The closing sentence of every chapter (its words may be split over lines)."""

STUDENT_SENTENCE = (
    "The worked solutions are not part of this edition of the book: your instructor hands "
    "them out."
)

SOLUTIONS_LINK = re.compile(r"\{doc\}`[^`]*solutions/[^`]*`|\]\([^)]*solutions/[^)]*\)")
"""A MyST ``{doc}`` role or a Markdown link to a page in ``solutions/``."""

STUDENT_DIR = Path("_build") / "student"
"""Where the student edition goes, relative to the root: ``source/`` and ``html/``."""


class PublishError(ValueError):
    """The sources cannot be published as asked; the message says which file to fix."""


def colab_cell(url: str) -> str:
    """The first code cell of every notebook: on Colab it installs the course package from
    ``url``; anywhere the package is already installed it does nothing."""
    _validate.text(url, "url")
    return (
        "# On Colab, install the course package; anywhere else this cell does nothing.\n"
        "import importlib.util\n"
        "\n"
        'if importlib.util.find_spec("shiftlab") is None:\n'
        f'    %pip install -q "git+{url}"'
    )


def repository_url(root: Path) -> str:
    """``repository.url`` of ``root/_config.yml``."""
    root = _validate.path(root, "root", exists="dir")
    if not (root / "_config.yml").is_file():
        raise ValueError(f"root must be the book's folder (with _config.yml), got {str(root)!r}")
    import yaml  # installed with jupyter-book; imported here so Colab never needs it

    config = yaml.safe_load((Path(root) / "_config.yml").read_text(encoding="utf-8"))
    url = (config.get("repository") or {}).get("url")
    if not isinstance(url, str) or not url.startswith("https://"):
        raise PublishError(f"_config.yml must set repository.url to an https URL, got {url!r}")
    return url


def notebooks(root: Path) -> list[Path]:
    """Every notebook in ``book/``, ``solutions/`` and ``lessons/`` of ``root``."""
    root = _validate.path(root, "root", exists="dir")
    return [path for folder in NOTEBOOK_DIRS for path in sorted((root / folder).glob("*.ipynb"))]


def first_code_cell(path: Path) -> str:
    """The source of the first code cell of the notebook at ``path`` ('' if it has none)."""
    path = _validate.path(path, "path", exists="file")
    notebook = nbformat.read(path, as_version=4)
    return next((cell.source for cell in notebook.cells if cell.cell_type == "code"), "")


def colab_cell_problems(root: Path) -> list[str]:
    """Notebooks whose first code cell is not ``colab_cell`` of the configured URL."""
    root = _validate.path(root, "root", exists="dir")
    expected = colab_cell(repository_url(root))
    return [
        f"{path.relative_to(root)}: the first code cell is not the Colab install cell for "
        f"{repository_url(root)}"
        for path in notebooks(root) if first_code_cell(path) != expected
    ]


def set_repository(root: Path, url: str, branch: str | None = None) -> list[Path]:
    """Write ``url`` (and ``branch``) into ``_config.yml`` and every notebook's Colab cell.

    Returns the files changed. The old URL is replaced as text, so everything else in the
    files stays byte for byte, and lessons stay in sync with their solutions.
    """
    root = _validate.path(root, "root", exists="dir")
    if branch is not None:
        _validate.text(branch, "branch")
    if not isinstance(url, str) or not re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", url):
        raise PublishError(
            f"url must look like https://github.com/OWNER/REPO (the launch buttons need a "
            f"GitHub repository), got {url!r}"
        )
    old = repository_url(root)
    changed = []
    config = root / "_config.yml"
    text = config.read_text(encoding="utf-8")
    new_text = re.sub(r"(?m)^(\s+url:\s*)\S+", lambda m: m.group(1) + url, text, count=1)
    if branch is not None:
        if not re.fullmatch(r"[\w./-]+", branch):
            raise PublishError(f"branch must be a branch name, got {branch!r}")
        new_text = re.sub(r"(?m)^(\s+branch:\s*)\S+", lambda m: m.group(1) + branch, new_text,
                          count=1)
    if new_text != text:
        config.write_text(new_text, encoding="utf-8")
        changed.append(config)
    for path in notebooks(root):
        text = path.read_text(encoding="utf-8")
        if f"git+{old}" in text:
            path.write_text(text.replace(f"git+{old}", f"git+{url}"), encoding="utf-8")
            changed.append(path)
    # The generated notebooks link to the online book, whose address follows the repository.
    for path, text in generate_notebooks(root).items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            if path not in changed:
                changed.append(path)
    return changed


def _student_notebook(path: Path, root: Path) -> str:
    """The chapter at ``path`` with its closing sentence for the student edition."""
    notebook = nbformat.read(path, as_version=4)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "markdown":
            continue
        cell.source = SOLUTIONS_SENTENCE.sub(STUDENT_SENTENCE, cell.source)
        leftover = SOLUTIONS_LINK.search(cell.source)
        if leftover:
            raise PublishError(
                f"{path.relative_to(root)}, cell {index}: links to the solutions "
                f"({leftover.group(0)}); the student edition has none. Only the closing "
                "sentence 'The worked solutions are in {doc}`../solutions/NN_name`.' is "
                "rewritten: move the link there"
            )
    return notebook_text(notebook)


def _student_toc(toc_text: str) -> str:
    """``_toc.yml`` without the part (or entry) that lists ``solutions/``."""
    import yaml

    toc = yaml.safe_load(toc_text)

    def keep(entry: object) -> bool:
        return not (isinstance(entry, dict) and any(
            isinstance(entry.get(key), str) and entry[key].startswith("solutions/")
            for key in ("file", "glob")))

    parts = []
    for part in toc.get("parts", []):
        chapters = [entry for entry in part.get("chapters", []) if keep(entry)]
        if chapters:
            parts.append({**part, "chapters": chapters})
    if "parts" in toc:
        toc["parts"] = parts
    if "chapters" in toc:
        toc["chapters"] = [entry for entry in toc["chapters"] if keep(entry)]
    header = "# Generated by `python -m shiftlab.book.publish student`: the student edition.\n"
    return header + yaml.safe_dump(toc, sort_keys=False)


def _student_config(root: Path) -> str:
    """``_config.yml`` of ``root`` for the student edition: the same, except that the
    notebooks' outputs come from the full book's jupyter-cache (the chapters' code cells are
    the same, and the cache ignores the prose), so the two editions share one execution."""
    text = (root / "_config.yml").read_text(encoding="utf-8")
    line = f"  cache: {json.dumps(str(cache_path(root)))}\n"
    block = re.search(r"(?m)^execute:[ \t]*\n(?:[ \t]+.*\n|[ \t]*\n)*", text)
    if block is None:
        text += f"\nexecute:\n{line}"
    else:
        body = re.sub(r"(?m)^[ \t]+cache:.*\n", "", block.group(0)[len("execute:\n"):])
        text = text[:block.start()] + "execute:\n" + line + body + text[block.end():]
    return "# Generated by `python -m shiftlab.book.publish student`: the student edition.\n" + text


STUDENT_MARK = ".shiftlab-student-source"
"""The file that marks a folder written by ``student_source`` (so it may be replaced)."""
STUDENT_NAMES = {STUDENT_MARK, "_config.yml", "_toc.yml", "book", "lessons", "_build"}
"""What ``student_source`` writes in its destination (and the build adds)."""


def student_source(root: Path, destination: Path) -> Path:
    """Write the sources of the student edition of the book in ``root`` to ``destination``.

    Everything the build reads is copied (``_config.yml``, ``book/``, ``lessons/``) except
    ``solutions/``; ``_toc.yml``, ``_config.yml`` (its cache) and the chapters are rewritten as
    the module docstring says.
    """
    # everything is checked before anything is deleted or written
    root = _validate.path(root, "root", exists="dir").resolve()
    destination = _validate.path(destination, "destination").resolve()
    missing = [name for name in ("_config.yml", "_toc.yml", "book", "lessons")
               if not (root / name).exists()]
    if missing:
        raise PublishError(f"root must be the course repository (with _config.yml, _toc.yml, "
                           f"book/ and lessons/), got {root}, which lacks {', '.join(missing)}")
    inside = destination == root or root in destination.parents
    if inside and (root / "_build") not in destination.parents:
        raise PublishError(f"destination must be outside the sources or under _build/, got "
                           f"{destination}")
    if destination.exists() and not destination.is_dir():
        raise PublishError(f"destination must be a folder, got the file {destination}")
    if destination.exists() and any(destination.iterdir()) and not (
            (destination / STUDENT_MARK).is_file()
            or {p.name for p in destination.iterdir()} <= STUDENT_NAMES):
        raise PublishError(f"destination must be empty, new or an earlier student source, got "
                           f"{destination}, which holds other files: it is not deleted")
    if destination.exists():
        shutil.rmtree(destination)
    destination.mkdir(parents=True)
    (destination / STUDENT_MARK).write_text("written by python -m shiftlab.book.publish\n",
                                            encoding="utf-8")
    (destination / "_config.yml").write_text(_student_config(root), encoding="utf-8")
    (destination / "_toc.yml").write_text(
        _student_toc((root / "_toc.yml").read_text(encoding="utf-8")), encoding="utf-8")
    ignore = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "_build")
    for folder in ("book", "lessons"):
        shutil.copytree(root / folder, destination / folder, ignore=ignore)
    for chapter in sorted((root / "book").glob("*.ipynb")):
        (destination / "book" / chapter.name).write_text(
            _student_notebook(chapter, root), encoding="utf-8")
    for page in sorted((root / "book").glob("*.md")):
        leftover = SOLUTIONS_LINK.search(page.read_text(encoding="utf-8"))
        if leftover:
            raise PublishError(f"{page.relative_to(root)} links to the solutions "
                               f"({leftover.group(0)}); the student edition has none")
    for path, text in generate_edition(destination, notebook_text).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return destination


def build_student_edition(root: Path) -> Path:
    """Build the student edition of the book in ``root``; return its HTML folder.

    The sources go to ``root/_build/student/source``, the HTML to ``root/_build/student/html``.
    The build is the README's (warnings are errors), with the notebooks' outputs from the full
    book's jupyter-cache, executed now where it lacks them; if it fails, the error is raised and
    no HTML is left behind.
    """
    root = _validate.path(root, "root", exists="dir")
    root = Path(root).resolve()
    source = student_source(root, root / STUDENT_DIR / "source")
    html = root / STUDENT_DIR / "html"
    if html.exists():
        shutil.rmtree(html)
    command = [book_build_command()[0], "build", str(source), *BOOK_BUILD_ARGUMENTS[2:]]
    subprocess.run(command, cwd=source, check=True)
    shutil.move(source / "_build" / "html", html)
    return html


def main(argv: list[str] | None = None) -> int:
    argv = _validate.argv(argv)
    parser = argparse.ArgumentParser(prog="python -m shiftlab.book.publish", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=Path.cwd(),
                        help="the repository root (default: the current directory)")
    commands = parser.add_subparsers(dest="command", required=True)
    student = commands.add_parser("student", help="build the book without the solutions")
    student.add_argument("--source-only", action="store_true",
                         help="write the sources of the edition, do not build them")
    repository = commands.add_parser("repository", help="set the repository URL of a fork")
    repository.add_argument("url", nargs="?", help="https://github.com/OWNER/REPO")
    repository.add_argument("--branch", help="the branch the launch buttons open")
    repository.add_argument("--check", action="store_true",
                            help="change nothing; exit 1 if a notebook disagrees with _config.yml")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    try:
        if args.command == "student":
            if args.source_only:
                print(f"wrote {student_source(root, root / STUDENT_DIR / 'source')}")
            else:
                print(f"student edition: {build_student_edition(root) / 'index.html'}")
            return 0
        if args.check:
            problems = colab_cell_problems(root)
            print("\n".join(problems) or f"every notebook installs from {repository_url(root)}")
            return 1 if problems else 0
        if not args.url:
            parser.error("repository needs a URL (or --check)")
        for path in set_repository(root, args.url, args.branch):
            print(f"wrote {path.relative_to(root)}")
        return 0
    except PublishError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
