"""shiftlab.rook, shiftlab.quadrant, shiftlab.figures.rook and shiftlab.book.progress: argument
validation, shapes, and the progress bar's two forms."""

import re

import matplotlib.pyplot as plt
import pytest
import torch
from tqdm.std import tqdm as std_tqdm

from shiftlab.book import progress as progress_module
from shiftlab.book.progress import NotebookProgress, progress
from shiftlab.figures import slider
from shiftlab.figures.rook import (
    border_sweep_figure,
    outcomes_figure,
    paper_quadrant_figure,
    paper_table,
    rook_training_explorer,
)
from shiftlab.quadrant import (
    PAPER_BORDERS,
    PAPER_QUADRANT,
    BorderSweep,
    border_sweep,
    linear_readout,
    multiply_adds,
    photo_patches,
    quadrant_images,
)
from shiftlab.rook import (
    RookNet,
    RookNetConfig,
    corner_pair,
    place,
    pooled_features,
    rook_images,
    rook_patch,
    train_rook_experiment,
    train_rook_runs,
)


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: rook_patch(torch.int64), TypeError, "dtype"),
    (lambda: place(torch.ones(3, 3), 4, (2, 0)), ValueError, "corner"),
    (lambda: place(torch.ones(3, 3), 4, 2), TypeError, "corner"),
    (lambda: place(torch.ones(3), 4, (0, 0)), ValueError, "patch"),
    (lambda: rook_images(border=-1), ValueError, "border"),
    (lambda: rook_images(border=1.0), TypeError, "border"),
    (lambda: corner_pair(torch.ones(5, 3), 4), ValueError, "size"),
    (lambda: corner_pair(torch.ones(3, 3), 4, -2), ValueError, "border"),
    (lambda: RookNetConfig(kernel_size=4), ValueError, "kernel_size"),
    (lambda: RookNetConfig(channels=()), ValueError, "channels"),
    (lambda: RookNetConfig(channels=[1]), ValueError, "channels"),
    (lambda: RookNetConfig(padding="zeros"), ValueError, "padding"),
    (lambda: RookNet(seed="0"), TypeError, "seed"),
    (lambda: RookNet().features(torch.ones(32, 32)), ValueError, "x"),
    (lambda: pooled_features(torch.ones(5, 5), rook_images()[0], "same"), ValueError, "weight"),
    (lambda: train_rook_runs("zeros"), ValueError, "padding"),
    (lambda: train_rook_runs("same", ()), ValueError, "seeds"),
    (lambda: train_rook_runs("same", (0.5,)), TypeError, "seeds"),
    (lambda: train_rook_runs("same", epochs=0), ValueError, "epochs"),
    (lambda: train_rook_experiment("same"), ValueError, "paddings"),
    (lambda: train_rook_experiment(("same", "zero")), ValueError, "paddings"),
    (lambda: train_rook_runs("same", lr=-1.0), ValueError, "lr"),
    (lambda: train_rook_runs("same", order="random"), ValueError, "order"),
    (lambda: train_rook_experiment(("same",), orders="fixed"), ValueError, "orders"),
    (lambda: train_rook_experiment(("same",), orders=("fixed", "sorted")), ValueError,
     "orders"),
    (lambda: RookNetConfig(bias=1), TypeError, "bias"),
    (lambda: photo_patches(0), ValueError, "n"),
    (lambda: photo_patches(2, split="valid"), ValueError, "split"),
    (lambda: photo_patches(2, size=60), ValueError, "size"),
    (lambda: quadrant_images(torch.ones(2, 3, 4)), ValueError, "square"),
    (lambda: quadrant_images(torch.ones(3, 3)), ValueError, "patches"),
    (lambda: quadrant_images(torch.ones(1, 3, 3), border=-1), ValueError, "border"),
    (lambda: quadrant_images(torch.ones(1, 3, 3), canvas=2), ValueError, "canvas"),
    (lambda: linear_readout([[1.0]], torch.ones(1), torch.ones(1, 1)), TypeError,
     "train_features"),
    (lambda: border_sweep([], train_patches=torch.ones(1, 3, 3),
                          test_patches=torch.ones(1, 3, 3)), ValueError, "borders"),
    (lambda: border_sweep([-1], train_patches=torch.ones(1, 3, 3),
                          test_patches=torch.ones(1, 3, 3)), ValueError, "borders"),
    (lambda: border_sweep([0], ("zeros",), train_patches=torch.ones(1, 3, 3),
                          test_patches=torch.ones(1, 3, 3)), ValueError, "paddings"),
    (lambda: border_sweep([0], seeds=(), train_patches=torch.ones(1, 3, 3),
                          test_patches=torch.ones(1, 3, 3)), ValueError, "seeds"),
    (lambda: border_sweep([0], steps=0, train_patches=torch.ones(1, 3, 3),
                          test_patches=torch.ones(1, 3, 3)), ValueError, "steps"),
    (lambda: multiply_adds(RookNetConfig(), 0), ValueError, "size"),
    (lambda: progress(range(3), desc=3), TypeError, "desc"),
])
def test_bad_arguments_raise_errors_that_name_them(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_the_explorer_rejects_epochs_it_has_not_recorded():
    runs = train_rook_runs("same", (0,), epochs=2)
    with pytest.raises(ValueError, match="epochs"):
        rook_training_explorer(runs, rook_images()[0], [0, 5])
    with pytest.raises(ValueError, match="run"):
        rook_training_explorer(runs, rook_images()[0], [0, 1], run=1)


def test_the_explorer_draws_one_frame_per_epoch():
    runs = train_rook_runs("same", (0,), epochs=3)
    fig, update = rook_training_explorer(runs, rook_images()[0], [0, 3])
    frames = slider(fig, update, [0, 3], label="epoch")
    assert len(frames) == 2 and frames.frames[0] != frames.frames[1]


def _sweep(config):
    values = {"same": torch.tensor([[0.9, 1.0], [0.7, 0.6], [0.5, 0.5]], dtype=torch.float64),
              "full": torch.full((3, 2), 0.5, dtype=torch.float64)}
    return BorderSweep((0, 1, 3), ("same", "full"), config, (0, 1),
                       {t: values for t in ("from scratch", "frozen random")})


def test_the_sweep_figure_has_a_panel_per_training_and_marks_the_reach():
    fig = border_sweep_figure(_sweep(RookNetConfig((2,), 3)), title="t")
    axes = fig.axes
    assert len(axes) == 2
    assert any(line.get_xdata()[0] == 1 for line in axes[0].lines)  # r = 1 marked
    assert not any(line.get_xdata()[0] == 2 for line in axes[0].lines)
    plt.close(fig)


def test_the_sweep_figure_marks_twice_the_reach_for_a_network_with_biases():
    fig = border_sweep_figure(_sweep(RookNetConfig((2,), 3, bias=True)))
    assert any(line.get_xdata()[0] == 2 for line in fig.axes[0].lines)  # 2r = 2 marked
    plt.close(fig)


def test_the_sweep_summarises_every_border_over_the_seeds():
    sweep = _sweep(RookNetConfig((2,), 3))
    assert torch.allclose(sweep.mean("from scratch", "same"),
                          torch.tensor([0.95, 0.65, 0.5], dtype=torch.float64))
    assert sweep.spread("frozen random", "full").abs().max() == 0


def test_the_outcomes_figure_shows_one_filter_per_failed_run():
    runs = train_rook_runs("same", (0, 6, 9), epochs=20)
    fig = outcomes_figure({"fixed": runs})
    failed = int((~runs.perfect()).sum())
    assert failed >= 1 and len(fig.axes) == 1 + failed
    with pytest.raises(ValueError, match="runs"):
        outcomes_figure({})


def test_the_paper_figure_has_a_panel_per_network_and_a_line_per_setting():
    fig = paper_quadrant_figure(PAPER_QUADRANT, PAPER_BORDERS)
    assert [ax.get_title() for ax in fig.axes] == ["BagNet-33", "ResNet-18", "DenseNet-121"]
    assert all(len([ln for ln in ax.lines if len(ln.get_xdata()) == 7]) == 3 for ax in fig.axes)
    with pytest.raises(ValueError, match="results"):
        paper_quadrant_figure({}, PAPER_BORDERS)


def test_paper_table_labels_the_borders():
    assert paper_table({"net": (1, 2)}, (0, 16)) == {"net": {"b = 0": 1, "b = 16": 2}}


def test_the_rook_network_pools_every_channel():
    net = RookNet(RookNetConfig((3, 2), 3), seed=1)
    x = torch.rand(4, 1, 10, 10)
    assert net.features(x).shape == (4, 2, 10, 10)
    assert net.pooled(x).shape == (4, 2) and net(x).shape == (4, 2)
    assert (net.features(x) >= 0).all()


def test_a_network_with_biases_has_the_weights_of_the_one_without():
    plain, biased = RookNet(RookNetConfig((3, 2), 3), seed=4), RookNet(
        RookNetConfig((3, 2), 3, bias=True), seed=4)
    for a, b in zip(plain.weights, biased.weights, strict=True):
        assert torch.equal(a, b)
    assert sum(p.numel() for p in biased.parameters()) == \
        sum(p.numel() for p in plain.parameters()) + 5
    x = torch.zeros(1, 1, 8, 8)
    assert (plain.features(x) == 0).all()                      # black stays black
    with torch.no_grad():
        for weight, bias in zip(biased.weights, biased.biases, strict=True):
            weight.fill_(1 / 9)
            bias.fill_(1.0)
    maps = biased.features(x)[0, 0]                            # but not with biases:
    assert torch.allclose(maps[2:6, 2:6], maps[4, 4])          # a constant inside,
    assert maps[0, 0] < maps[4, 4]                             # and the border shows


def test_the_linear_readout_separates_separable_features_and_ties_equal_ones():
    features = torch.tensor([[0.0], [1.0], [2.0], [3.0]])
    labels = torch.tensor([0, 0, 1, 1])
    assert linear_readout(features, labels, features).tolist() == [0, 0, 1, 1]
    same = linear_readout(features, labels, torch.tensor([[1.5], [1.5]]))
    assert same[0] == same[1]


# The progress bar ------------------------------------------------------------------------------

def test_outside_a_notebook_the_bar_is_tqdms_text_bar(capsys):
    bar = progress(range(3), desc="sweep")
    assert type(bar) is std_tqdm
    assert list(bar) == [0, 1, 2]
    assert "3/3" in capsys.readouterr().err


class _Handle:
    def __init__(self):
        self.shown = []

    def update(self, bundle, raw):
        self.shown.append(bundle)


def test_in_a_notebook_the_bar_updates_one_output_and_ends_finished(monkeypatch):
    handles = []

    def fake_display(bundle, raw, display_id):
        handles.append(_Handle())
        handles[-1].shown.append(bundle)
        return handles[-1]

    monkeypatch.setattr(progress_module, "display", fake_display)
    monkeypatch.setattr(progress_module, "in_notebook", lambda: True)
    bar = progress(range(4), desc="border sweep", unit="run")
    assert isinstance(bar, NotebookProgress)
    assert list(bar) == [0, 1, 2, 3]
    assert len(handles) == 1  # one output, updated in place
    final = handles[0].shown[-1]
    assert '<progress value="4" max="4"' in final["text/html"]
    assert "4/4" in final["text/plain"] and "border sweep" in final["text/html"]
    assert not re.search(r"<bar/>", final["text/html"])
