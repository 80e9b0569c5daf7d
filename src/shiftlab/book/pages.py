"""The book's pages serve what reads right outside the book, and describe their figures.

A Sphinx extension (listed in ``_config.yml``) with two jobs:

1. **Launch and download buttons serve the Jupyter edition.** The book's notebooks are MyST,
   which JupyterLab, Colab and GitHub show raw; ``notebooks/`` holds their edition in plain
   Markdown (``shiftlab.book.edition``). On every page that has one, the Binder and Colab buttons
   open ``notebooks/<page>.ipynb`` instead of the MyST source, and the ``.ipynb`` download
   button (``_sources/<page>.ipynb``) gives that file.
2. **Figures get alt text.** myst-nb 1.4 writes an ``<img>`` for a figure with no ``alt``; it
   reads ``alt`` only from a cell's ``mystnb: image: alt`` metadata, which code cannot set. The
   figures' own alt text (``shiftlab.figures.alt_text``) is in each image output's metadata of the
   executed notebook, which the book's jupyter-cache keeps; after a page is read, every image
   of it gets the alt text of the output it was written from (matched by the image's bytes,
   whose hash myst-nb uses as its file name).
3. **Accessibility fixes the theme needs** (found by axe-core in tests/book/test_browser.py):
   ``static/shiftlab.css`` (darker links inside sphinx-proof boxes, for contrast), and the
   bibliography's entries get the ``listitem`` role their ``role="list"`` parent requires
   (docutils writes the deprecated ``doc-biblioentry``).
"""

from __future__ import annotations

import base64
import hashlib
import shutil
from pathlib import Path

import nbformat
from docutils import nodes

from shiftlab import _validate
from shiftlab.book.edition import EDITION_DIR
from shiftlab.book.execution import cache_path


def edition_of(srcdir: str | Path, docname: str) -> Path | None:
    """The Jupyter edition of the page ``docname``, if the book has one."""
    srcdir = _validate.path(srcdir, "srcdir")
    _validate.text(docname, "docname")
    path = Path(srcdir) / EDITION_DIR / f"{docname}.ipynb"
    return path if path.is_file() else None


def _serve_the_edition(app, pagename: str, templatename: str, context: dict, doctree) -> None:
    if edition_of(app.srcdir, pagename) is None:
        return
    source = f"{pagename}.ipynb"
    for button in context.get("header_buttons", []):
        if button.get("label") != "launch-buttons":
            continue
        for launch in button.get("buttons", []):
            url = launch.get("url", "")
            if url.endswith(f"/{source}"):
                launch["url"] = url[: -len(source)] + f"{EDITION_DIR}/{source}"


def _copy_the_edition(app, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    for docname in app.env.found_docs:
        edition = edition_of(app.srcdir, docname)
        served = Path(app.outdir) / "_sources" / f"{docname}.ipynb"
        if edition is not None and served.is_file():
            shutil.copyfile(edition, served)


def image_alt_texts(notebook: nbformat.NotebookNode) -> dict[str, str]:
    """``{sha256 of the image's bytes: alt text}`` of a notebook's image outputs."""
    _validate.notebook(notebook, "notebook")
    found = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            for mime, data in output.get("data", {}).items():
                alt = output.get("metadata", {}).get(mime, {}).get("alt")
                if mime.startswith("image/") and alt and isinstance(data, str):
                    raw = base64.b64decode(data) if mime != "image/svg+xml" else data.encode()
                    found[hashlib.sha256(raw).hexdigest()] = alt
    return found


def executed_notebook(srcdir: str | Path, source: Path) -> nbformat.NotebookNode | None:
    """The notebook at ``source`` as the book's jupyter-cache holds it, executed (None if the
    cache does not have it)."""
    srcdir = _validate.path(srcdir, "srcdir", exists="dir")
    source = _validate.path(source, "source")
    from jupyter_cache import get_cache

    cache_folder = cache_path(srcdir)
    if not cache_folder.is_dir():
        return None
    cache = get_cache(str(cache_folder))
    try:
        record = cache.match_cache_notebook(nbformat.read(source, as_version=4))
    except KeyError:
        return None
    return cache.get_cache_bundle(record.pk).nb


def _describe_images(app, doctree: nodes.document) -> None:
    images = [image for image in doctree.findall(nodes.image) if not image.get("alt")]
    source = Path(app.env.doc2path(app.env.docname))
    if not images or source.suffix != ".ipynb":
        return
    executed = executed_notebook(app.srcdir, source)
    alts = image_alt_texts(executed) if executed is not None else {}
    for image in images:
        alt = alts.get(Path(image["uri"]).stem)
        if alt:
            image["alt"] = alt


def _bibliography_list_items(app, pagename: str, templatename: str, context: dict,
                             doctree) -> None:
    body = context.get("body")
    if isinstance(body, str) and 'role="doc-biblioentry"' in body:
        context["body"] = body.replace('role="doc-biblioentry"', 'role="listitem"')


def _add_static(app) -> None:
    app.config.html_static_path.append(str(STATIC))


STATIC = Path(__file__).parent / "static"
"""The CSS this extension adds to every page."""


def setup(app) -> dict[str, object]:
    """Sphinx entry point."""
    app.connect("builder-inited", _add_static)
    app.add_css_file("shiftlab.css")
    app.connect("html-page-context", _bibliography_list_items)
    app.connect("html-page-context", _serve_the_edition, priority=600)  # after the theme's 501
    app.connect("build-finished", _copy_the_edition)
    app.connect("doctree-read", _describe_images)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
