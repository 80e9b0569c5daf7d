"""The built book in a real browser: Chromium, driven by playwright, offline.

For every page of the table of contents (and the site root, the search page and the index):
the page loads, every image on it loads, no JavaScript error is raised or logged, no request
fails or leaves the machine, and every internal link resolves, its #fragment included; and
axe-core (the pinned axe-playwright-python bundles it) finds no serious or critical violation of
WCAG 2.0/2.1 level A or AA. On every chapter page, moving each kernel-free slider changes the
frame that is displayed. A failure names the page and the element.

The browser is Debian's Chromium (``apt-get install chromium``, which .ci/run does); set
``SHIFTLAB_CHROMIUM`` to use another executable. Without one the tests are skipped, except
under CI (``CI`` set), where a missing browser is an error.
"""

from __future__ import annotations

import functools
import html
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from book_pages import CHAPTERS, toc_pages

pytestmark = pytest.mark.book

SITE_PAGES = ["index", "search", "genindex"]
"""Pages of the site that the table of contents does not list."""

ALLOWED_FAILED_REQUESTS = {
    # The site root is a redirect (<meta http-equiv="Refresh" content="0; ...">): leaving it at
    # once cancels what it had started to load, e.g. its icon. Only this page, only this error.
    "index": ("net::ERR_ABORTED",),
}
"""Failed requests the test tolerates, per page: none of them comes from the book's content."""

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
"""The axe-core rules run on every page: WCAG 2.0 and 2.1, levels A and AA."""

FAILING_IMPACTS = {"serious", "critical"}
"""axe-core impacts that fail the test (minor and moderate ones are reported in the message of
a failure, not failed on)."""

DISABLED_AXE_RULES: dict[str, str] = {}
"""axe-core rules switched off, each with the reason: none. What axe found in the theme is
fixed instead (shiftlab.book.pages and its shiftlab.css): the contrast of links inside sphinx-proof
boxes, and the role of the bibliography's entries."""

ALLOWED_CONSOLE_ERRORS: tuple[str, ...] = ()
"""JavaScript errors the test tolerates (substrings). Empty: the book and its theme raise none;
add an entry only for a script that is not the book's own, with a comment saying why."""


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def site(built_book: Path) -> Iterator[str]:
    """The built book served over HTTP on localhost, as a reader's browser would get it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 partial(_QuietHandler, directory=str(built_book)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@dataclass
class Visit:
    """What happened while a page loaded: each problem as 'what: which element'."""

    page: str
    problems: list[str] = field(default_factory=list)
    axe_running: bool = False

    def by_axe(self, url: str) -> bool:
        """A stylesheet that axe-core fetches again while it runs (its CSSOM preload, for the
        orientation-lock rule) at a URL of its own making: it resolves the theme's
        ``@import`` against the page instead of the stylesheet and gets a 404. Not the book's."""
        return self.axe_running and url.split("?")[0].endswith(".css")

    def report(self) -> str:
        return f"{self.page}.html:\n  " + "\n  ".join(self.problems)


def _short(element: str, limit: int = 160) -> str:
    """An element's HTML on one line, embedded images abbreviated, cut at ``limit``."""
    text = re.sub(r"data:image/[^\"']+", "data:image/…", " ".join(element.split()))
    return text if len(text) <= limit else text[:limit] + "…"


@functools.cache
def _fetch(url: str) -> tuple[int, str]:
    """HTTP status and text of a URL on the local server (cached: pages share their links)."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            body = response.read()
            text = body.decode("utf-8", "replace") if url.endswith((".html", "/")) else ""
            return response.status, text
    except urllib.error.HTTPError as error:
        return error.code, ""


def _has_anchor(text: str, fragment: str) -> bool:
    fragment = urllib.parse.unquote(fragment)
    return any(f'{attribute}="{html.escape(fragment)}"' in text or
               f'{attribute}="{fragment}"' in text for attribute in ("id", "name"))


def visit(browser, site: str, page: str):
    """Open ``page`` in a fresh browser context; return the live page and a ``Visit``."""
    record = Visit(page)
    context = browser.new_context(viewport={"width": 1300, "height": 900})

    def route(request_route) -> None:
        url = request_route.request.url
        if url.startswith(site):
            request_route.continue_()
        else:
            record.problems.append(f"request that leaves the machine: {url}")
            request_route.abort()

    context.route("**/*", route)
    tab = context.new_page()
    allowed = ALLOWED_FAILED_REQUESTS.get(page, ())

    def console(message) -> None:
        if record.by_axe(message.location.get("url", "")):
            return
        if message.type == "error" and not any(a in message.text for a in ALLOWED_CONSOLE_ERRORS):
            record.problems.append(
                f"console error: {message.text} (from {message.location.get('url')})")

    def failed(request) -> None:
        if record.by_axe(request.url):
            return
        if request.url.startswith(site) and request.failure not in allowed:
            record.problems.append(f"failed request: {request.url} ({request.failure})")

    def responded(response) -> None:
        if response.status >= 400 and not record.by_axe(response.url):
            record.problems.append(f"HTTP {response.status}: {response.url}")

    tab.on("pageerror", lambda error: record.problems.append(f"JavaScript error: {error}"))
    tab.on("console", console)
    tab.on("requestfailed", failed)
    tab.on("response", responded)
    response = tab.goto(f"{site}/{page}.html", wait_until="load")
    if response is None or not response.ok:
        record.problems.append(f"the page itself: HTTP {response.status if response else '?'}")
    tab.wait_for_load_state("networkidle")
    return context, tab, record


def _check_images(tab, record: Visit) -> None:
    images = tab.evaluate("""async () => Promise.all(Array.from(document.images).map(
        async (img) => { try { await img.decode(); } catch (e) {}
                         return [img.complete && img.naturalWidth > 0, img.outerHTML]; }))""")
    for loaded, element in images:
        if not loaded:
            record.problems.append(f"image that did not load: {_short(element)}")


def _check_links(tab, site: str, record: Visit) -> int:
    links = tab.evaluate("""() => Array.from(document.querySelectorAll('a[href]')).map(
        a => [a.href, a.outerHTML])""")
    checked = 0
    for url, element in links:
        if not url.startswith(site + "/"):
            continue  # external (GitHub, Binder, Colab, DOIs): not the book's to resolve
        target, _, fragment = url.partition("#")
        status, text = _fetch(target)
        checked += 1
        if status != 200:
            record.problems.append(f"link to a missing page (HTTP {status}): {_short(element)}")
        elif fragment and target.endswith(".html") and not _has_anchor(text, fragment):
            record.problems.append(f"link to a missing #{fragment}: {_short(element)}")
    return checked


def _check_accessibility(tab, record: Visit) -> None:
    """axe-core on the page: a serious or critical WCAG 2 A/AA violation is a problem (the
    report lists every violation found, of any impact)."""
    from axe_playwright_python.sync_playwright import Axe

    options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"],
               "rules": {rule: {"enabled": False} for rule in DISABLED_AXE_RULES}}
    record.axe_running = True
    try:
        violations = Axe().run(tab, options=options).response["violations"]
    finally:
        record.axe_running = False
    if any(violation["impact"] in FAILING_IMPACTS for violation in violations):
        record.problems += [
            f"axe {v['id']} ({v['impact']}): {v['help']}, on {len(v['nodes'])} element(s), "
            f"e.g. {_short(v['nodes'][0]['html'])}: {v['nodes'][0].get('failureSummary', '')}"
            for v in violations]


PAGES = toc_pages()


@pytest.mark.parametrize("page", PAGES + SITE_PAGES)
def test_page_loads_with_its_images_links_no_javascript_error_and_no_wcag_violation(
        browser, site, page):
    context, tab, record = visit(browser, site, page)
    try:
        if page == "index":  # a redirect to the first page of the table of contents
            tab.wait_for_url(f"{site}/{PAGES[0]}.html", timeout=15_000)
            tab.wait_for_load_state("networkidle")
        else:
            if not tab.evaluate("""() => Array.from(document.querySelectorAll('main h1'))
                                          .some(h => h.innerText.trim())"""):
                record.problems.append("no <h1> with text in <main>: the page has no content")
            _check_images(tab, record)
            links = _check_links(tab, site, record)
            if page in PAGES and links == 0:
                record.problems.append("no internal link at all (the navigation is missing)")
            _check_accessibility(tab, record)  # in the same visit: a page load costs 1-2 s
    finally:
        context.close()
    if record.problems:
        pytest.fail(record.report(), pytrace=False)


def _frames(tab, slider_index: int) -> dict[str, object]:
    return tab.evaluate("""(k) => {
        const s = document.querySelectorAll('.shiftlab-slider')[k];
        const frames = Array.from(s.querySelectorAll('img.shiftlab-frame'));
        return {visible: frames.map((f, i) => [i, getComputedStyle(f).display !== 'none'
                                                  && f.getBoundingClientRect().height > 0])
                                .filter(p => p[1]).map(p => p[0]),
                sources: frames.map(f => f.src),
                output: s.querySelector('output').textContent,
                labels: frames.map(f => f.dataset.label)};
    }""", slider_index)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_moving_each_slider_changes_the_displayed_frame(browser, site, chapter):
    page = f"book/{chapter}"
    context, tab, record = visit(browser, site, page)
    try:
        sliders = tab.locator(".shiftlab-slider")
        count = sliders.count()
        if count == 0:
            record.problems.append("no kernel-free slider (.shiftlab-slider) on the page")
        for k in range(count):
            name = f"slider {k + 1} (#{sliders.nth(k).get_attribute('id')})"
            before = _frames(tab, k)
            if before["visible"] != [0]:
                record.problems.append(f"{name}: shows frames {before['visible']} at load, "
                                       "expected only the first")
                continue
            # the first position whose picture differs from the first one
            moved = next((i for i, source in enumerate(before["sources"])
                          if source != before["sources"][0]), None)
            if moved is None:
                record.problems.append(f"{name}: every frame shows the same picture")
                continue
            control = sliders.nth(k).locator("input[type=range]")
            control.scroll_into_view_if_needed()
            control.fill(str(moved))  # what dragging does: set the value, fire `input`
            after = _frames(tab, k)
            if after["visible"] != [moved]:
                record.problems.append(f"{name}: moved to {moved}, but it shows frames "
                                       f"{after['visible']}")
            elif after["output"] != after["labels"][moved]:
                record.problems.append(f"{name}: moved to {moved}, but its label reads "
                                       f"{after['output']!r}, not {after['labels'][moved]!r}")
    finally:
        context.close()
    if record.problems:
        pytest.fail(record.report(), pytrace=False)

