"""Where the built book is and which pages it has, for the tests of the book and the browser."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
CHAPTERS = sorted(p.stem for p in (ROOT / "book").glob("[0-9][0-9]_*.ipynb"))


def toc_pages() -> list[str]:
    """Every page the table of contents names, its globs expanded, without suffix."""
    toc = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    pages = re.findall(r"^\s*-?\s*(?:root|file):\s*(\S+)", toc, flags=re.MULTILINE)
    for pattern in re.findall(r"^\s*-\s*glob:\s*(\S+)", toc, flags=re.MULTILINE):
        pages += sorted(str(p.relative_to(ROOT).with_suffix("")) for p in ROOT.glob(pattern)
                        if p.suffix in (".ipynb", ".md"))
    return pages
