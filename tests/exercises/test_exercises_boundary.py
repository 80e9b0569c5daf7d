"""The checkers of chapter 5's exercises: ✅ on right answers, ⏳ on stubs, ❌ with a useful
message on the likely wrong answers, on randomized inputs."""

import pytest
import torch
import torch.nn.functional as F

from shiftlab.boundary import distance_to_frame
from shiftlab.exercises import _core, boundary
from shiftlab.exercises._core import ExerciseError
from shiftlab.layers import conv2d


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# Reference answers, as a learner would write them, with switches for the likely mistakes.

def full_conv2d(x, w, *, extra=0, swap=False, flip=False, halve=False):
    k_h, k_w = w.shape
    p_h, p_w = (k_h - 1) // 2 if halve else k_h - 1 + extra, (k_w - 1) // 2 if halve else \
        k_w - 1 + extra
    pads = (p_h, p_h, p_w, p_w) if swap else (p_w, p_w, p_h, p_h)
    padded = F.pad(x[None, None], pads)[0, 0]
    return conv2d(padded, torch.flip(w, (0, 1)) if flip else w, padding="valid")


def seeing_taps(padding, corner, *, reflect_all=False, circular_like_same=False,
                ignore_corner=False, invert=False):
    k = 3
    if padding == "circular" and not circular_like_same:
        mask = torch.ones(k, k, dtype=torch.bool)
    elif padding == "reflect" and reflect_all:
        mask = torch.ones(k, k, dtype=torch.bool)
    else:
        p = {"valid": 0, "same": 1, "reflect": 1, "circular": 1, "full": k - 1}[padding]
        taps = torch.arange(k)
        vertical, horizontal = boundary.CORNERS["top left" if ignore_corner else corner]
        rows = taps <= p if vertical == "top" else taps >= k - 1 - p
        columns = taps <= p if horizontal == "left" else taps >= k - 1 - p
        mask = rows[:, None] & columns[None, :]
    return ~mask if invert else mask


def receptive_field_size(kernel_sizes, strides, *, mistake=None):
    size, step = 1, 1
    for k, s in zip(kernel_sizes, strides, strict=True):
        if mistake == "own stride":
            step *= s
        size += (k if mistake == "k" else k - 1) * (1 if mistake == "no strides" else step)
        if mistake != "own stride":
            step *= s
    return size - (1 if mistake in ("off by one", "k") else 0)


def my_band_width(error, tol, *, distance=None, plus=1, ignore_tol=False):
    d = distance_to_frame(error.shape) if distance is None else distance(error.shape)
    wrong = d[error != 0] if ignore_tol else d[error > tol]
    return int(wrong.max()) + plus if len(wrong) else 0


def rows_only(shape):
    rows = torch.arange(shape[0])[:, None].expand(*shape)
    return torch.minimum(rows, shape[0] - 1 - rows)


def my_fit_readout(features, targets, ridge, *, intercept=True, penalise_bias=False,
                   scale=1.0):
    rows = len(features)
    if penalise_bias:
        features = torch.cat([features, torch.ones(rows, 1, dtype=features.dtype)], dim=1)
    mean_f = features.mean(dim=0) if intercept and not penalise_bias else 0 * features[0]
    mean_y = targets.mean(dim=0) if intercept and not penalise_bias else 0 * targets[0]
    centred_f, centred_y = features - mean_f, targets - mean_y
    gram = centred_f.T @ centred_f / rows + scale * ridge * torch.eye(features.shape[1],
                                                                       dtype=features.dtype)
    weight = torch.linalg.lstsq(gram, centred_f.T @ centred_y / rows).solution
    if penalise_bias:
        return weight[:-1], weight[-1]
    return weight, mean_y - mean_f @ weight


CHECKS = [
    (boundary.check_full_conv, full_conv2d),
    (boundary.check_seeing_taps, seeing_taps),
    (boundary.check_receptive_field, receptive_field_size),
    (boundary.check_band_width, my_band_width),
    (boundary.check_readout, my_fit_readout),
]


WRONG_FULL_CONVOLUTIONS = [
    (lambda x, w: conv2d(x, w, padding="same"), "same padding"),
    (lambda x, w: full_conv2d(x, w, extra=1), "Too many zeros"),
    (lambda x, w: full_conv2d(x, w, swap=True), "last axis first"),
    (lambda x, w: full_conv2d(x, w, flip=True), "flipped the filter"),
    (lambda x, w: conv2d(x, w, padding="valid"), "No zeros came in"),
    (lambda x, w: x.mul_(2), "in place"),
    (lambda x, w: full_conv2d(x, w).tolist(), "torch.Tensor"),
    (lambda x, w: full_conv2d(x, w) + 1e-3, "away"),
]


@pytest.mark.parametrize(("answer", "message"), WRONG_FULL_CONVOLUTIONS)
def test_wrong_full_convolutions_are_caught_with_a_hint(answer, message):
    with pytest.raises(ExerciseError, match=message):
        boundary.check_full_conv(answer)
    assert list(_core.results().values()) == ["failed"]


WRONG_TAPS = [
    (lambda p, c: seeing_taps(p, c, reflect_all=True), "mirrors the neighbours"),
    (lambda p, c: seeing_taps(p, c, circular_like_same=True), "opposite edges"),
    (lambda p, c: seeing_taps(p, c, ignore_corner=True), "turns with the corner"),
    (lambda p, c: seeing_taps(p, c, invert=True), "flip True and False"),
    (lambda p, c: seeing_taps(p, c).long(), "bool tensor"),
    (lambda p, c: seeing_taps(p, c)[:2], "shape"),
]


@pytest.mark.parametrize(("answer", "message"), WRONG_TAPS)
def test_wrong_tap_predictions_are_caught_with_a_hint(answer, message):
    with pytest.raises(ExerciseError, match=message):
        boundary.check_seeing_taps(answer)


def test_a_tap_prediction_as_nested_lists_is_accepted(capsys):
    boundary.check_seeing_taps(lambda p, c: seeing_taps(p, c).tolist())
    assert "✅" in capsys.readouterr().out


WRONG_FIELDS = [
    ("no strides", "ignores the strides"),
    ("own stride", "before"),
    ("off by one", "Off by one"),
    ("k", "not k"),
]


@pytest.mark.parametrize(("mistake", "message"), WRONG_FIELDS)
def test_wrong_receptive_fields_are_caught_with_a_hint(mistake, message):
    with pytest.raises(ExerciseError, match=message):
        boundary.check_receptive_field(
            lambda ks, ss: receptive_field_size(ks, ss, mistake=mistake))


def test_the_measured_receptive_field_of_a_strided_stack_is_its_span():
    assert boundary.measured_receptive_field([3, 3], [1, 1]) == 5
    assert boundary.measured_receptive_field([3, 3], [2, 1]) == 7
    assert boundary.measured_receptive_field([1, 3], [3, 1]) == 7  # with holes: a span
    assert boundary.measured_receptive_field([5, 2, 3], [2, 3, 1]) == 1 + 4 + 2 + 12


WRONG_WIDTHS = [
    (lambda e, t: my_band_width(e, t, plus=0), "Off by one"),
    (lambda e, t: my_band_width(e, t, distance=rows_only), "nearest of the four edges"),
    (lambda e, t: my_band_width(e, t, ignore_tol=True), "compare with tol"),
    (lambda e, t: int((e > t).sum()), "counts the pixels above tol"),
    (lambda e, t: "3", "one number"),
]


@pytest.mark.parametrize(("answer", "message"), WRONG_WIDTHS)
def test_wrong_band_widths_are_caught_with_a_hint(answer, message):
    with pytest.raises(ExerciseError, match=message):
        boundary.check_band_width(answer)


def test_the_band_width_check_prints_the_networks_bands_beside_the_reach(capsys):
    boundary.check_band_width(my_band_width)
    out = capsys.readouterr().out
    assert "depth 1: band 1, reach 1" in out and "depth 5: band 5, reach 5" in out


WRONG_READOUTS = [
    (lambda f, y, r: my_fit_readout(f, y, r, intercept=False), "No intercept"),
    (lambda f, y, r: my_fit_readout(f, y, r, penalise_bias=True), "penalised"),
    (lambda f, y, r: my_fit_readout(f, y, r, scale=len(f)), "P times"),
    (lambda f, y, r: my_fit_readout(f, y, 0.0), "plain least squares"),
    (lambda f, y, r: my_fit_readout(f, y, r)[0], "pair"),
    (lambda f, y, r: (my_fit_readout(f, y, r)[0].T, my_fit_readout(f, y, r)[1]),
     "expected|differ"),
]


@pytest.mark.parametrize(("answer", "message"), WRONG_READOUTS)
def test_wrong_readouts_are_caught_with_a_hint(answer, message):
    with pytest.raises(ExerciseError, match=message):
        boundary.check_readout(answer)


def test_the_readout_check_decodes_position_from_zero_padding_and_not_from_circular(capsys):
    boundary.check_readout(my_fit_readout)
    lines = capsys.readouterr().out.splitlines()
    zero = next(line for line in lines if "zero padding" in line)
    circular = next(line for line in lines if "circular padding" in line)
    r2_zero = [float(v.strip(",")) for v in zero.split() if v[0].isdigit() or v[0] == "-"]
    r2_circular = [float(v.strip(",")) for v in circular.split()
                   if v[0].isdigit() or v[0] == "-"]
    assert min(r2_zero) > 0.3 and max(abs(v) for v in r2_circular) < 0.2
