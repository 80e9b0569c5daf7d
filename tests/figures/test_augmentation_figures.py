"""Chapter 9's figures: curves over the shift and over the epochs, with the spread of the runs."""

import numpy as np
import torch

from shiftlab.figures.augmentation import accuracy_curves, learning_curves


def test_learning_curves_draw_one_panel_per_test_set_and_one_line_per_run_group():
    low = torch.tensor([[0.2, 0.5, 0.7], [0.4, 0.6, 0.9]], dtype=torch.float64)
    fig = learning_curves({"centred": {"a": low, "b": low / 2}, "moved": {"a": low, "b": low}},
                          title="T")
    axes = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in axes] == ["centred", "moved"]
    line = axes[0].get_lines()[0]
    # epochs 1, 2, 3 on the x axis, the mean of the runs on the y axis
    assert list(line.get_xdata()) == [1, 2, 3]
    assert np.allclose(line.get_ydata(), [0.3, 0.55, 0.8])
    assert axes[0].get_ylabel() == "test accuracy" and axes[0].get_xlabel() == "epochs of training"
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["a (mean of 2)", "b (mean of 2)"]


def test_accuracy_curves_span_the_lowest_and_highest_run():
    acc = torch.tensor([[0.9, 0.1], [0.7, 0.3]], dtype=torch.float64)
    fig = accuracy_curves({"net": acc}, [0, 1], title="T")
    band = fig.axes[0].collections[0].get_paths()[0].vertices
    assert np.isclose(band[:, 1].max(), 0.9) and np.isclose(band[:, 1].min(), 0.1)
