"""One call, one slider that works without a kernel: in the book, in JupyterLab, after a reopen."""

import re

import matplotlib.pyplot as plt
import pytest
import torch

from shiftlab.figures import slider
from shiftlab.figures.invariance import image_row_explorer, shift_explorer
from shiftlab.transforms import shift

VALUES = [0, 2, 4, 6]


def _moving_dot(values=VALUES):
    fig, ax = plt.subplots(figsize=(2, 2))
    (dot,) = ax.plot([0], [0], "o")
    ax.set_xlim(-1, 7)

    def update(value):
        dot.set_data([value], [0])

    return slider(fig, update, values, label="position")


def test_slider_renders_one_distinct_frame_per_value():
    result = _moving_dot()
    assert len(result) == len(VALUES)
    assert len(set(result.frames)) == len(VALUES)
    assert result.labels == ["0", "2", "4", "6"]
    assert all(frame.startswith(b"\x89PNG") for frame in result.frames)


def test_slider_closes_its_figure_so_it_is_not_shown_twice():
    before = plt.get_fignums()
    _moving_dot()
    assert plt.get_fignums() == before


def test_the_bundle_is_html_that_needs_no_kernel_and_no_widget_model():
    # A widget view would show "Error displaying widget: model not found" in a notebook that
    # is opened again after its kernel stopped; the HTML slider keeps working there.
    bundle = _moving_dot()._repr_mimebundle_()
    assert set(bundle) == {"text/html", "text/plain"}


def test_frames_are_shown_at_their_natural_size_never_stretched():
    frames = re.findall(r'<img class="shiftlab-frame"[^>]*>', _moving_dot().html())
    assert all("width:auto;height:auto;" in frame and "max-width:100%" in frame
               and "max-height:75vh" in frame for frame in frames)
    assert not any(re.search(r'\swidth="|(?<![-\w])width:\s*\d', frame) for frame in frames)


def test_each_frame_says_what_it_shows_at_its_position():
    fig, ax = plt.subplots(figsize=(2, 2))
    (dot,) = ax.plot([0], [0], "o")
    ax.set_xlabel("column")
    ax.set_ylabel("row")
    ax.set_title("The dot moves right")
    result = slider(fig, lambda v: dot.set_data([v], [0]), VALUES, label="position")
    alts = re.findall(r'alt="([^"]*)"', result.html())
    assert alts == [result.alt(k) for k in range(len(VALUES))]
    assert all(alt.startswith("The dot moves right. Plot of row against column.") for alt in alts)
    assert alts[2].endswith("Slider position: position = 4.")


def test_the_arrow_keys_stay_with_the_slider_and_other_keys_go_on():
    html = _moving_dot().html()
    assert 'data-lm-suppress-shortcuts="true"' in html
    assert "onkeydown=" in html and "stopPropagation" in html and "ctrlKey" in html


def test_kernel_free_html_holds_every_frame_and_a_range_input_over_them():
    html = _moving_dot().html()
    frames = re.findall(r'<img class="shiftlab-frame"[^>]*>', html)
    assert len(frames) == len(VALUES)
    assert "display:none" not in frames[0]
    assert all("display:none" in frame for frame in frames[1:])
    assert re.search(r'<input[^>]*type="range"[^>]*min="0"[^>]*max="3"', html)
    assert "oninput=" in html
    assert "<script" not in html and "http" not in html  # works offline, without a kernel


def test_html_is_the_same_on_every_run():
    assert _moving_dot().html() == _moving_dot().html()


def test_shift_explorer_readouts_of_global_pools_stay_put_while_a_pixel_changes():
    x = torch.rand(16, 16, generator=torch.Generator().manual_seed(0))
    shifts = [(0, dx) for dx in range(0, 17, 4)]
    fig, _ = shift_explorer(x, torch.relu, shifts)
    curves = {line.get_label(): line.get_ydata() for line in fig.axes[2].get_lines()
              if not line.get_label().startswith("_")}
    plt.close(fig)
    assert max(curves["global max pool"]) == min(curves["global max pool"])
    mean = curves["global average pool"]
    assert max(mean) - min(mean) <= 1e-6 * abs(mean[0])
    assert len(set(curves["feature at fixed pixel (8, 8)"])) > 1


def test_shift_explorer_refuses_a_feature_map_of_another_size():
    with pytest.raises(ValueError, match="feature"):
        shift_explorer(torch.rand(8, 8), lambda x: x[1:], [(0, 0)])
    plt.close("all")


def test_image_row_explorer_updates_every_panel():
    x = torch.rand(8, 8, generator=torch.Generator().manual_seed(1))
    fig, update = image_row_explorer(lambda dx: [shift(x, (0, dx)), x], ["a", "b"], first=0)
    update(3)
    shown = [axis.get_images()[0].get_array() for axis in fig.axes]
    plt.close(fig)
    assert (shown[0] == shift(x, (0, 3)).numpy()).all()
    assert (shown[1] == x.numpy()).all()
