"""Chapter 10's figures: the glyph masks, and the masks of several networks under a shift."""

import pytest
import torch

from shiftlab.figures.segmentation import mask_explorer, masks_figure
from shiftlab.segmentation import SegmentationConfig, SegmentationNet, glyph_segmentation


def test_the_mask_explorer_counts_the_pixels_off_the_shift_and_titles_every_frame():
    x = glyph_segmentation(1, 16, seed=4)[0].double()
    nets = {name: SegmentationNet(SegmentationConfig(*config), seed=3).double()
            for name, config in {"baseline": ("stride", "plain"),
                                 "APS-U": ("aps", "aps-u")}.items()}
    shifts = [(0, dx) for dx in range(5)]
    fig, update, changed = mask_explorer(x, nets, shifts, title="t")
    assert changed["APS-U"] == [0] * 5
    assert changed["baseline"][0] == changed["baseline"][4] == 0
    assert sum(changed["baseline"]) > 0
    update((0, 1))
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0] == "input shifted by (0, 1)" and "follows the shift" in titles[2]
    assert "pixels off the shift" in titles[1]


def test_the_masks_figure_shows_each_image_above_its_mask():
    images, masks = glyph_segmentation(3, 16, seed=1)
    fig = masks_figure(images, masks, title="t")
    assert len(fig.axes) == 6 and fig.axes[3].get_title() == "mask 1"


@pytest.mark.parametrize(("call", "word"), [
    (lambda: masks_figure(torch.zeros(2, 1, 4, 4), torch.zeros(3, 4, 4)), "masks"),
    (lambda: mask_explorer(torch.zeros(2, 1, 8, 8), {"a": SegmentationNet()}, [(0, 1)]), "one"),
    (lambda: mask_explorer(torch.zeros(1, 1, 8, 8), {}, [(0, 1)]), "empty"),
])
def test_bad_input_names_the_argument(call, word):
    with pytest.raises(ValueError, match=word):
        call()
