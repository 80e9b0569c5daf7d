"""The learner's JupyterLab, in a real browser: a chapter and a lesson, as a learner uses them.

A JupyterLab (the pinned one, with the nbgrader extensions that come with it) runs on a free
localhost port with a token, on a temporary working copy of a chapter of the Jupyter edition
(``notebooks/book/``) and its lesson (``lessons/``); Chromium, driven by playwright, opens them
at 1366×768 and does what a learner does:

- the chapter: Run All; no error output; no raw MyST anywhere; every passage with glued numbers
  shows numbers; a slider's frame is at its natural size, fits the visible notebook, and moves
  with the keyboard and by dragging; after saving, closing, stopping the kernel and opening the
  notebook again the saved slider still works, and no "Error displaying widget" shows;
- the lesson: Run All; no error output, every exercise pending (⏳); a wrong answer to exercise
  1.1 (the shift in the wrong direction) gives ❌ with its message, the solution of exercise 1.2
  (taken from ``solutions/``) gives ✅.

Screenshots of the chapter, its slider and the lesson go to ``_build/jupyterlab/``. The server
and its kernels are stopped at the end. Without Chromium the test is skipped, except under CI.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from book_pages import ROOT

from shiftlab.book.authoring import BEGIN, END
from shiftlab.book.edition import EDITION_DIR, myst_leftovers
from shiftlab.exercises import EXPECT_ENV

pytestmark = pytest.mark.slow

CHAPTER = "01_invariance_equivariance"
"""The chapter (and lesson) the learner opens: it has sliders, glued numbers, definitions,
glossary links, a citation and a footnote."""

VIEWPORT = {"width": 1366, "height": 768}
"""A common laptop screen."""

SCREENSHOTS = ROOT / "_build" / "jupyterlab"

RUN_TIMEOUT = 180_000
"""Milliseconds a Run All may take (the chapter takes 10 to 20 s on a 2-core machine)."""


@dataclass
class Lab:
    url: str
    token: str
    work: Path

    def api(self, method: str, path: str) -> object:
        request = urllib.request.Request(f"{self.url}{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _settings(folder: Path) -> None:
    """No news or update check: the test (and CI) must not reach the network."""
    notification = (folder / "@jupyterlab" / "apputils-extension"
                    / "notification.jupyterlab-settings")
    notification.parent.mkdir(parents=True)
    notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory) -> Iterator[Lab]:
    work = tmp_path_factory.mktemp("learner")
    home = tmp_path_factory.mktemp("jupyter-home")
    (work / EDITION_DIR / "book").mkdir(parents=True)
    (work / "lessons").mkdir()
    shutil.copy(ROOT / EDITION_DIR / "book" / f"{CHAPTER}.ipynb", work / EDITION_DIR / "book")
    shutil.copy(ROOT / "lessons" / f"{CHAPTER}.ipynb", work / "lessons")
    _settings(home / "settings")
    env = {key: value for key, value in os.environ.items() if key != EXPECT_ENV}
    env.update(JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
               JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_DATA_DIR=str(home / "data"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"))
    token, port = secrets.token_hex(16), _free_port()
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={work}",
               "--LabApp.expose_app_in_browser=True"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # CI runs as root
    log_path = home / "jupyterlab.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                  cwd=work)
    lab = Lab(f"http://127.0.0.1:{port}", token, work)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                lab.api("GET", "/api/status")
                break
            except (urllib.error.URLError, ConnectionError):
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("JupyterLab did not start:\n" + log_path.read_text()[-3000:])
                time.sleep(0.5)
        yield lab
    finally:
        server.terminate()  # the server shuts its kernels down
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# --- driving JupyterLab ---------------------------------------------------------------------

def open_notebook(browser, lab: Lab, path: str):
    """A fresh browser context with ``path`` open in JupyterLab and its kernel idle."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.goto(f"{lab.url}/lab/tree/{path}?reset&token={lab.token}")  # reset: only this one
    page.wait_for_function(
        """(path) => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
               return w && w.context && w.context.path === path && w.sessionContext.session
                      && w.sessionContext.session.kernel
                      && w.sessionContext.session.kernel.status === 'idle'; }""",
        arg=path, timeout=90_000)
    return context, page


def run_all(page) -> None:
    """Run > Run All Cells, from the menu; wait until every code cell ran or one failed."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    page.wait_for_function(
        """() => { const w = window.jupyterapp.shell.currentWidget;
               const cells = w.content.widgets.filter(c => c.model.type === 'code');
               const failed = cells.some(c => c.model.outputs.toJSON()
                                              .some(o => o.output_type === 'error'));
               return failed || (w.sessionContext.session.kernel.status === 'idle'
                                 && cells.every(c => c.model.executionCount !== null)); }""",
        timeout=RUN_TIMEOUT)


def outputs(page) -> list[list[dict]]:
    """The outputs of every cell of the open notebook (an empty list for markdown cells)."""
    return page.evaluate("""() => window.jupyterapp.shell.currentWidget.content.widgets.map(
        c => c.model.type === 'code' ? c.model.outputs.toJSON() : [])""")


def error_outputs(page) -> list[str]:
    return [f"cell {index}: {output.get('ename')}: {output.get('evalue')}"
            for index, cell in enumerate(outputs(page)) for output in cell
            if output["output_type"] == "error"]


def visible_text(page) -> str:
    """What the learner reads: rendered markdown cells and every output."""
    return page.evaluate("""() => Array.from(document.querySelectorAll(
        '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-MarkdownOutput, '
        + '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output'))
        .map(n => n.innerText).join('\\n')""")


def cell_at(page, index: int):
    """The cell ``index`` of the notebook on show (JupyterLab may keep others open)."""
    panel = page.evaluate("() => window.jupyterapp.shell.currentWidget.id")
    return page.locator(f"[id='{panel}'] .jp-Notebook .jp-Cell").nth(index)


def type_into_cell(page, index: int, source: str) -> None:
    """Replace the code of cell ``index`` by typing, as a learner does, and run it and the
    check cell after it (Shift+Enter twice)."""
    cell = cell_at(page, index)
    editor = cell.locator(".cm-content")
    deadline = time.monotonic() + 30
    while not editor.is_visible():  # JupyterLab makes a cell's editor once the cell is seen
        assert time.monotonic() < deadline, f"the editor of cell {index} never showed"
        cell.evaluate("(n) => n.scrollIntoView({block: 'center'})")
        page.wait_for_timeout(250)
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(source)
    count = page.evaluate("() => window.jupyterapp.shell.currentWidget.content.widgets.map("
                          "c => c.model.executionCount || 0).reduce((a, b) => Math.max(a, b))")
    page.keyboard.press("Shift+Enter")
    page.keyboard.press("Shift+Enter")
    page.wait_for_function(
        """([index, count]) => { const w = window.jupyterapp.shell.currentWidget;
               return w.content.widgets[index + 1].model.executionCount > count
                      && w.sessionContext.session.kernel.status === 'idle'; }""",
        arg=[index, count], timeout=60_000)


def _slider_state(slider) -> dict:
    return slider.evaluate("""(s) => {
        const frames = Array.from(s.querySelectorAll('img.shiftlab-frame'));
        const shown = frames.map((f, i) => [i, getComputedStyle(f).display !== 'none'])
                            .filter(p => p[1]).map(p => p[0]);
        const f = frames[shown[0]];
        const box = f.getBoundingClientRect();
        const panel = s.closest('.jp-WindowedPanel-outer') || s.closest('.jp-Notebook');
        return {shown, sources: frames.map(f => f.src), alt: f.alt,
                width: box.width, height: box.height,
                natural: [f.naturalWidth, f.naturalHeight],
                slider_height: s.getBoundingClientRect().height,
                visible_height: panel.getBoundingClientRect().height};
    }""")


def move_by_keyboard(page, slider) -> dict:
    control = slider.locator("input[type=range]")
    control.scroll_into_view_if_needed()
    control.focus()
    page.keyboard.press("ArrowRight")
    return _slider_state(slider)


def move_by_dragging(page, slider) -> dict:
    control = slider.locator("input[type=range]")
    control.scroll_into_view_if_needed()
    box = control.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + 3, y)
    page.mouse.down()
    page.mouse.move(box["x"] + 0.8 * box["width"], y, steps=8)
    page.mouse.up()
    return _slider_state(slider)


def _screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


# --- the chapter ----------------------------------------------------------------------------

def test_a_chapter_runs_reads_without_myst_and_its_slider_works_live_and_after_reopening(
        browser, jupyterlab):
    path = f"{EDITION_DIR}/book/{CHAPTER}.ipynb"
    context, page = open_notebook(browser, jupyterlab, path)
    try:
        run_all(page)
        assert error_outputs(page) == []
        text = visible_text(page)
        assert myst_leftovers(text) == [], "raw MyST in JupyterLab"
        assert "{{" not in text and "glue" not in text
        passages = [cell for cell, tags in zip(outputs(page), _tags(page), strict=True)
                    if "shiftlab-paste" in tags]
        assert passages and all(cell and re.search(r"\d", json.dumps(cell)) for cell in passages)

        slider = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) "
                              ".jp-OutputArea-output .shiftlab-slider").first
        slider.scroll_into_view_if_needed()
        before = _slider_state(slider)
        assert before["shown"] == [0]
        assert abs(before["width"] - before["natural"][0]) <= 1, before  # never stretched
        assert abs(before["height"] - before["natural"][1]) <= 1, before
        assert before["slider_height"] <= before["visible_height"] <= VIEWPORT["height"]
        assert len(before["alt"].split()) >= 6 and ".png" not in before["alt"]
        _screenshot(page, "chapter-slider")
        keyed = move_by_keyboard(page, slider)
        assert keyed["shown"] == [1]
        assert keyed["sources"][1] != keyed["sources"][0]
        dragged = move_by_dragging(page, slider)
        assert len(dragged["shown"]) == 1 and dragged["shown"][0] > 1

        _scroll_to_first_passage(page)
        _screenshot(page, "chapter")
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^File$")).click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Save Notebook$")).click()
        page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty",
                               timeout=30_000)
    finally:
        context.close()

    for kernel in jupyterlab.api("GET", "/api/kernels"):
        jupyterlab.api("DELETE", f"/api/kernels/{kernel['id']}")
    saved = nbformat.read(jupyterlab.work / path, as_version=4)
    assert any("shiftlab-slider" in json.dumps(cell.get("outputs", [])) for cell in saved.cells)

    context, page = open_notebook(browser, jupyterlab, path)
    try:
        slider = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) "
                              ".jp-OutputArea-output .shiftlab-slider").first
        slider.wait_for(timeout=30_000)
        assert "Error displaying widget" not in visible_text(page)
        assert move_by_keyboard(page, slider)["shown"] == [1]
        assert move_by_dragging(page, slider)["shown"][0] > 1
    finally:
        context.close()


def _tags(page) -> list[list[str]]:
    return page.evaluate("""() => window.jupyterapp.shell.currentWidget.content.widgets.map(
        c => c.model.getMetadata('tags') || [])""")


def _scroll_to_first_passage(page) -> None:
    """Show the first passage with glued numbers at the top of the notebook."""
    index = next(i for i, tags in enumerate(_tags(page)) if "shiftlab-paste" in tags)
    cell_at(page, max(index - 1, 0)).evaluate(
        "(n) => n.scrollIntoView({block: 'start'})")


# --- the lesson -----------------------------------------------------------------------------

def solution_of(function: str) -> str:
    """The cell of ``solutions/CHAPTER.ipynb`` that defines ``function``, without the
    ``# BEGIN/END SOLUTION`` lines (the single source of every answer)."""
    solution = nbformat.read(ROOT / "solutions" / f"{CHAPTER}.ipynb", as_version=4)
    source = next(cell.source for cell in solution.cells
                  if cell.cell_type == "code" and f"def {function}(" in cell.source)
    return "\n".join(line for line in source.splitlines()
                     if not BEGIN.match(line) and not END.match(line))


def _cell_defining(page, function: str) -> int:
    sources = page.evaluate("""() => window.jupyterapp.shell.currentWidget.content.widgets.map(
        c => c.model.sharedModel.getSource())""")
    return next(i for i, source in enumerate(sources) if f"def {function}(" in source)


def test_a_lesson_runs_untouched_and_checks_a_wrong_and_a_right_answer(browser, jupyterlab):
    path = f"lessons/{CHAPTER}.ipynb"
    context, page = open_notebook(browser, jupyterlab, path)
    try:
        run_all(page)
        assert error_outputs(page) == []
        text = visible_text(page)
        assert myst_leftovers(text) == [], "raw MyST in JupyterLab"
        assert "⏳ Exercise 1.1" in text and "✅" not in text

        right = solution_of("circular_shift")
        wrong = right.replace("- dy", "+ dy").replace("- dx", "+ dx")
        assert wrong != right
        index = _cell_defining(page, "circular_shift")
        type_into_cell(page, index, wrong)
        failure = outputs(page)[index + 1]
        messages = [o.get("evalue", "") for o in failure if o["output_type"] == "error"]
        assert messages and messages[0].startswith("❌ Exercise 1.1"), failure
        assert len(messages[0]) > len("❌ Exercise 1.1: ") + 20, "❌ without a message"
        cell_at(page, index + 1).evaluate("(n) => n.scrollIntoView({block: 'center'})")
        _screenshot(page, "lesson-wrong")

        index = _cell_defining(page, "my_equivariance_error")
        type_into_cell(page, index, solution_of("my_equivariance_error"))
        passed = json.dumps(outputs(page)[index + 1], ensure_ascii=False)
        assert "✅ Exercise 1.2" in passed, passed
        cell_at(page, index - 1).evaluate(
            "(n) => n.scrollIntoView({block: 'start'})")
        _screenshot(page, "lesson")
    finally:
        context.close()
