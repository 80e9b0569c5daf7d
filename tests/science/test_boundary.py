"""The modules of chapter 5 (boundary, boundary_plots, position, local_max): what they compute,
and that a wrong argument fails at once, naming the argument."""

import matplotlib.pyplot as plt
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from matplotlib.figure import Figure

from shiftlab.boundary import (
    band_width,
    camera_error_map,
    coverage_map,
    distance_to_frame,
    influence_mask,
    output_size,
    receptive_field,
    tap_coverage,
)
from shiftlab.figures import slider
from shiftlab.figures.boundary import band_explorer, band_heatmaps, map_grid, number_grids
from shiftlab.local_max import (
    NEIGHBOURS,
    LocalMaxNet,
    WindowNet,
    centred_windows,
    detector_scores,
    difference_filters,
    hand_built_detector,
    local_max_map,
    train_detector,
)
from shiftlab.models import ConvNet, ConvNetConfig
from shiftlab.position import (
    LinearReadout,
    coordinate_targets,
    decode_position,
    fit_readout,
    hypercolumns,
    pixel_features,
    r2_score,
)

# boundary


def test_output_size_per_mode():
    assert output_size(10, 3, "valid") == (8, 8)
    assert output_size((10, 7), (3, 5), "full") == (12, 11)
    assert output_size(10, 3, "reflect") == (10, 10)


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: output_size(10, 3, "zeros"), ValueError, "padding must be one of"),
    (lambda: output_size(2, 3, "valid"), ValueError, "does not fit"),
    (lambda: output_size(0, 3, "same"), ValueError, "size must be >= 1"),
    (lambda: output_size(5, 3.0, "same"), TypeError, "kernel_size must be an int"),
    (lambda: output_size((5, 5, 5), 3, "same"), ValueError, "size must be an int or a pair"),
    (lambda: tap_coverage(6, 3, "same", (6, 0)), ValueError, "pixel must lie in the image"),
    (lambda: tap_coverage(6, 3, "same", 0), TypeError, "pixel must be a pair"),
    (lambda: coverage_map(2, 3, "circular"), ValueError, "no larger than the image"),
    (lambda: receptive_field(-1, 3), ValueError, "depth must be >= 0"),
    (lambda: receptive_field(2, 0), ValueError, "kernel_size must be >= 1"),
    (lambda: distance_to_frame("5"), TypeError, "size must be an int"),
    (lambda: band_width(torch.zeros(3, 3), tol=-1.0), ValueError, "tol must be >= 0"),
    (lambda: band_width(torch.zeros(2, 3, 3)), ValueError, "error must have shape"),
    (lambda: influence_mask(3, torch.zeros(1, 1, 4, 4), (0, 0)), TypeError, "f must be callable"),
    (lambda: influence_mask(lambda x: x, torch.zeros(1, 1, 4, 4), (4, 0)), ValueError,
     "at must lie in the output"),
    (lambda: influence_mask(lambda x: x.sum(), torch.zeros(1, 1, 4, 4), (0, 0)), ValueError,
     "f must return"),
    (lambda: camera_error_map(lambda x: x, torch.zeros(8, 8), (0, 0), 2), ValueError,
     "scene must have shape"),
    (lambda: camera_error_map(lambda x: x, torch.zeros(1, 1, 8, 8), (3, 0), 2), ValueError,
     "t must satisfy"),
    (lambda: camera_error_map(lambda x: torch.cat([x, x], dim=-2), torch.zeros(1, 1, 8, 8),
                              (0, 0), 2), ValueError, "same number of pixels"),
])
def test_boundary_functions_refuse_wrong_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_the_distance_to_the_frame_counts_rings():
    assert distance_to_frame((3, 5)).tolist() == [[0, 0, 0, 0, 0], [0, 1, 1, 1, 0],
                                                  [0, 0, 0, 0, 0]]


@given(st.integers(3, 12), st.integers(3, 12), st.integers(0, 5))
def test_a_band_of_ones_has_its_width(height, width, w):
    error = (distance_to_frame((height, width)) < w).double()
    assert band_width(error) == min(w, (min(height, width) + 1) // 2)
    assert band_width(error * 1e-3, tol=1e-2) == 0


def test_influence_mask_of_a_single_3x3_layer_is_the_3x3_window():
    w = torch.ones(1, 1, 3, 3)
    mask = influence_mask(lambda x: torch.nn.functional.conv2d(x, w, padding=1),
                          torch.zeros(1, 1, 7, 7), (3, 3))
    assert mask.sum() == 9 and mask[2:5, 2:5].all()


# boundary_plots


def test_the_figures_are_figures_and_refuse_inconsistent_inputs():
    maps = [torch.rand(6, 6) for _ in range(2)]
    assert isinstance(number_grids({"a": torch.eye(3), "b": torch.ones(5, 5)},
                                   frames={"b": (1, 1, 3, 3)}), Figure)
    assert isinstance(map_grid({"row": maps}, ["x", "y"]), Figure)
    assert isinstance(band_heatmaps({"row": maps}, ["x", "y"], bands=[1, None]), Figure)
    fig, update = band_explorer(lambda v: [m * v for m in maps], [0, 1], ["x", "y"],
                                band_at=lambda v: v, title_at=str)
    assert len(slider(fig, update, [0, 1])) == 2
    with pytest.raises(ValueError, match="grids must name"):
        number_grids({})
    with pytest.raises(ValueError, match="frames names panels"):
        number_grids({"a": torch.eye(3)}, frames={"b": (0, 0, 1, 1)})
    with pytest.raises(ValueError, match="per_row must be >= 1"):
        number_grids({"a": torch.eye(3)}, per_row=0)
    with pytest.raises(ValueError, match="3 columns"):
        map_grid({"row": maps}, ["x", "y", "z"])
    with pytest.raises(ValueError, match="bands must have one entry per column"):
        band_heatmaps({"row": maps}, ["x", "y"], bands=[1])
    with pytest.raises(ValueError, match="values must not be empty"):
        band_explorer(lambda v: maps, [], ["x", "y"], band_at=int, title_at=str)
    plt.close("all")


def test_exact_zeros_are_drawn_black_and_tiny_errors_are_not():
    fig = band_heatmaps({"row": [torch.tensor([[0.0, 1e-9], [1e-2, 1.0]])]}, ["x"])
    image = fig.axes[0].images[0]
    colours = image.to_rgba(image.get_array())
    assert tuple(colours[0, 0][:3]) == (0.0, 0.0, 0.0)
    assert sum(colours[0, 1][:3]) > 0.1   # a nonzero error below the floor is not black
    plt.close("all")


# position


def test_a_readout_recovers_a_linear_map_exactly_without_ridge():
    generator = torch.Generator().manual_seed(0)
    features = torch.randn(50, 4, generator=generator, dtype=torch.float64)
    weight = torch.randn(4, 2, generator=generator, dtype=torch.float64)
    targets = features @ weight + torch.tensor([1.0, -2.0], dtype=torch.float64)
    readout = fit_readout(features, targets, ridge=0.0)
    assert torch.allclose(readout.weight, weight) and torch.allclose(readout(features), targets)
    assert torch.allclose(r2_score(readout(features), targets),
                          torch.ones(2, dtype=torch.float64))


def test_a_strong_ridge_shrinks_the_readout_to_the_mean():
    generator = torch.Generator().manual_seed(1)
    features = torch.randn(40, 3, generator=generator, dtype=torch.float64)
    targets = torch.randn(40, 2, generator=generator, dtype=torch.float64)
    readout = fit_readout(features, targets, ridge=1e9)
    assert torch.allclose(readout(features), targets.mean(dim=0).expand(40, 2), atol=1e-6)
    assert torch.allclose(r2_score(readout(features), targets),
                          torch.zeros(2, dtype=torch.float64), atol=1e-6)


def test_pixel_features_and_coordinates_are_in_the_same_order():
    features = torch.arange(2 * 1 * 3 * 4.0).reshape(2, 1, 3, 4)
    assert pixel_features(features)[:, 0].tolist() == list(range(24))
    coordinates = coordinate_targets(2, (3, 4))
    assert coordinates.shape == (24, 2)
    assert coordinates[:4, 0].tolist() == [-1.0] * 4 and coordinates[3, 1] == 1.0


def test_hypercolumns_end_with_the_network_features():
    net = ConvNet(ConvNetConfig(channels=(3, 5), padding="same"), seed=0)
    x = torch.randn(2, 1, 8, 8, generator=torch.Generator().manual_seed(2))
    columns = hypercolumns(net, x)
    assert columns.shape == (2, 8, 8, 8)
    with torch.no_grad():
        assert torch.equal(columns[:, 3:], net.features(x))


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: hypercolumns(torch.nn.Identity(), torch.zeros(1, 1, 4, 4)), TypeError,
     "net must be a shiftlab.models.ConvNet"),
    (lambda: hypercolumns(ConvNet(ConvNetConfig(padding="valid")), torch.zeros(1, 1, 8, 8)),
     ValueError, "net must keep the image size"),
    (lambda: pixel_features(torch.zeros(3, 3)), ValueError, "features must have shape"),
    (lambda: coordinate_targets(0, 4), ValueError, "n must be >= 1"),
    (lambda: fit_readout(torch.zeros(5, 2), torch.zeros(4, 2)), ValueError, "one row per pixel"),
    (lambda: fit_readout(torch.zeros(5), torch.zeros(5, 2)), ValueError, "features must be a"),
    (lambda: fit_readout(torch.zeros(5, 2, dtype=torch.long), torch.zeros(5, 2)), TypeError,
     "features must be a floating-point"),
    (lambda: fit_readout(torch.zeros(5, 2), torch.zeros(5, 2), ridge=-1.0), ValueError,
     "ridge must be >= 0"),
    (lambda: r2_score(torch.zeros(5, 2), torch.zeros(5, 1)), ValueError, "the same shape"),
    (lambda: decode_position(torch.zeros(2, 3, 4, 4), torch.zeros(2, 2, 4, 4)), ValueError,
     "the same \\(C, H, W\\)"),
])
def test_position_functions_refuse_wrong_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_a_readout_is_a_linear_map():
    readout = LinearReadout(torch.eye(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64))
    assert readout(torch.zeros(3, 2)).tolist() == [[1.0, 1.0]] * 3


# local_max


def test_the_difference_filters_compare_each_neighbour_with_the_centre():
    filters = difference_filters()
    assert filters.shape == (8, 1, 3, 3) and len(NEIGHBOURS) == 8
    assert torch.all(filters[:, 0, 1, 1] == -1) and torch.all(filters.sum(dim=(1, 2, 3)) == 0)


def test_a_constant_image_is_a_local_maximum_everywhere():
    flat = torch.ones(1, 1, 5, 5)
    assert local_max_map(flat).all() and hand_built_detector(flat).all()


def test_train_detector_lowers_the_loss():
    x = torch.randn(4, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    history = train_detector(LocalMaxNet(8), x, local_max_map(x), steps=30, lr=0.1)
    assert len(history) == 30 and history[-1] < history[0]


def test_window_nets_map_windows_to_two_logits_or_a_map_of_them():
    windows, labels = centred_windows(6, seed=0)
    assert WindowNet((4, 3))(windows).shape == (6, 2)
    assert WindowNet((4, 3), head="invariant")(windows).shape == (6, 2)
    assert WindowNet((4, 3), head="per pixel")(windows).shape == (6, 2, 3, 3)
    assert labels.dtype == torch.long


def test_the_per_pixel_head_is_the_dense_layer_applied_to_every_pixel():
    net = WindowNet((4, 3), head="per pixel", seed=1)
    windows, _ = centred_windows(5, seed=2)
    with torch.no_grad():
        features = net.features(windows)                      # (5, 3, 3, 3)
        by_hand = torch.einsum("kc,nchw->nkhw", net.head.weight, features)
        by_hand = by_hand + net.head.bias[:, None, None]
    torch.testing.assert_close(net(windows), by_hand)


def test_copies_of_a_local_max_net_are_the_nets_of_their_seeds_and_train_as_if_alone():
    x = torch.randn(3, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    together = LocalMaxNet(4, seed=5, copies=3)
    alone = LocalMaxNet(4, seed=6)
    with torch.no_grad():
        torch.testing.assert_close(together(x)[:, 1:2], alone(x))
    train_detector(together, x, local_max_map(x), steps=5, lr=0.1)
    train_detector(alone, x, local_max_map(x), steps=5, lr=0.1)
    with torch.no_grad():
        torch.testing.assert_close(together(x)[:, 1:2], alone(x), rtol=1e-4, atol=1e-5)


def test_detector_scores_count_accuracy_and_recall_per_detector():
    truth = torch.tensor([[[[True, False], [False, False]]]])
    logits = torch.tensor([[[[1.0, -1.0], [-1.0, -1.0]], [[-1.0, 1.0], [-1.0, -1.0]]]])
    scores = detector_scores(logits, truth)
    assert scores["accuracy"].tolist() == [1.0, 0.5]
    assert scores["recall"].tolist() == [1.0, 0.0]


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: local_max_map(torch.zeros(2, 5)), ValueError, "at least 3 x 3"),
    (lambda: local_max_map([[1.0]]), TypeError, "x must be a torch.Tensor"),
    (lambda: hand_built_detector(torch.zeros(1, 2, 5, 5)), ValueError, "one channel"),
    (lambda: LocalMaxNet(0), ValueError, "hidden must be >= 1"),
    (lambda: train_detector(LocalMaxNet(), torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 5)),
     ValueError, "targets must be a tensor of shape"),
    (lambda: train_detector(LocalMaxNet(), torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 4),
                            steps=0), ValueError, "steps must be >= 1"),
    (lambda: centred_windows(0), ValueError, "n must be >= 1"),
    (lambda: WindowNet((0, 3)), ValueError, "channels must be >= 1"),
    (lambda: WindowNet()(torch.zeros(1, 1, 4, 4)), ValueError, "shape \\(N, 1, 3, 3\\)"),
    (lambda: WindowNet(head="dense"), ValueError, "head must be one of"),
    (lambda: LocalMaxNet(copies=0), ValueError, "copies must be >= 1"),
    (lambda: detector_scores(torch.zeros(2, 3, 4, 4), torch.zeros(2, 1, 4, 4)), ValueError,
     "truth must be a bool tensor"),
])
def test_local_max_functions_refuse_wrong_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()
