"""Every figure says what it shows (its alt text, read from the figure), in the book and in
Jupyter; the book's buttons serve the Jupyter edition."""

import base64
import hashlib
from types import SimpleNamespace

import matplotlib.pyplot as plt
import nbformat
import pytest
import torch
from book_pages import ROOT
from IPython.core.formatters import DisplayFormatter

from shiftlab.book.edition import EDITION_DIR
from shiftlab.book.pages import _bibliography_list_items, _serve_the_edition, image_alt_texts
from shiftlab.figures.alt_text import alt_text, register
from shiftlab.figures.panels import show_images


def test_a_row_of_images_is_described_by_its_title_and_panel_titles():
    fig = show_images([torch.zeros(4, 4), torch.ones(4, 4)], ["before", "after"],
                      title="The shift moves the spot")
    assert alt_text(fig) == "The shift moves the spot. 2 panels: before (image); after (image)."


def test_a_plot_is_described_by_its_axes_legend_and_colour_scale():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0], label="zero padding")
    ax.plot([0, 1], [0, 0], label="circular")
    ax.set(xlabel="shift $t$", ylabel="error", title="Only zero padding has an error")
    ax.legend()
    image = ax.imshow([[0, 1]])
    fig.colorbar(image, label="relative error")
    plt.close(fig)
    assert alt_text(fig) == ("Only zero padding has an error. Plot of error against shift t "
                             "(legend: zero padding, circular). Colour scale: relative error.")


def test_alt_text_refuses_what_is_not_a_figure():
    with pytest.raises(TypeError, match="fig must be a matplotlib Figure"):
        alt_text("figure.png")


def test_a_figure_displayed_in_ipython_carries_its_alt_text_in_the_output():
    shell = SimpleNamespace(display_formatter=DisplayFormatter())
    assert register(shell)
    fig = show_images([torch.zeros(2, 2)], ["x"], title="A title that states the finding")
    data, metadata = shell.display_formatter.format(fig)
    assert data["text/plain"] == alt_text(fig)
    assert metadata["image/png"]["alt"] == alt_text(fig)



def test_outside_ipython_there_is_nothing_to_register_in(monkeypatch):
    # Another test in this worker may have started an InteractiveShell (which get_ipython then
    # returns), so "outside IPython" is made explicit rather than left to the test order.
    import IPython

    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    assert register() is False


def test_the_book_matches_an_image_to_its_alt_text_by_its_bytes():
    png = b"\x89PNG fake bytes"
    output = nbformat.v4.new_output("display_data", data={
        "image/png": base64.b64encode(png).decode(), "text/plain": "A figure."},
        metadata={"image/png": {"alt": "A figure that says what it shows."}})
    cell = nbformat.v4.new_code_cell("f()", outputs=[output])
    found = image_alt_texts(nbformat.v4.new_notebook(cells=[cell]))
    assert found == {hashlib.sha256(png).hexdigest(): "A figure that says what it shows."}


def test_the_launch_buttons_of_a_page_open_its_jupyter_edition():
    page = "book/01_invariance_equivariance"
    assert (ROOT / EDITION_DIR / f"{page}.ipynb").is_file()
    launch = [{"url": f"https://binder/v2/gh/o/r/main?urlpath=lab/tree/{page}.ipynb"},
              {"url": f"https://colab/github/o/r/blob/main/{page}.ipynb"}]
    context = {"header_buttons": [{"label": "launch-buttons", "buttons": launch}]}
    _serve_the_edition(SimpleNamespace(srcdir=str(ROOT)), page, "page.html", context, None)
    assert [button["url"] for button in launch] == [
        f"https://binder/v2/gh/o/r/main?urlpath=lab/tree/{EDITION_DIR}/{page}.ipynb",
        f"https://colab/github/o/r/blob/main/{EDITION_DIR}/{page}.ipynb"]
    other = [{"url": "https://colab/github/o/r/blob/main/book/setup.md"}]
    _serve_the_edition(SimpleNamespace(srcdir=str(ROOT)), "book/setup", "page.html",
                       {"header_buttons": [{"label": "launch-buttons", "buttons": other}]},
                       None)
    assert other[0]["url"].endswith("/main/book/setup.md")  # no edition: left alone


def test_bibliography_entries_get_the_role_their_list_requires():
    context = {"body": '<div role="list"><div class="citation" role="doc-biblioentry">x</div>'}
    _bibliography_list_items(None, "book/references", "page.html", context, None)
    assert 'role="listitem"' in context["body"] and "doc-biblioentry" not in context["body"]
