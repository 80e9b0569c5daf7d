"""The trained classifier of chapter 8 under sub-pixel shifts: the alias-free network, the flip
rates, and the chapter's claims on five seeds it does not use (5 to 9)."""

import pytest
import torch

from shiftlab import glyph_images
from shiftlab.restoring import DownsamplingConfig, DownsamplingNet
from shiftlab.subpixel import alias_free_relu, lowpass
from shiftlab.subpixel_net import KARRAS_2021, AliasFreeConfig, AliasFreeNet, flip_rates
from shiftlab.training import train_runs


def test_the_alias_free_net_computes_the_filtered_relu_onto_the_half_grid():
    net = AliasFreeNet(AliasFreeConfig(channels=(3,), m=2), seed=4).double()
    x = torch.randn(2, 1, 12, 10, dtype=torch.float64, generator=torch.Generator().manual_seed(9))
    pre = torch.nn.functional.conv2d(torch.nn.functional.pad(x, (1, 1, 1, 1), mode="circular"),
                                     net.weights[0]) + net.biases[0][:, None, None]
    want = alias_free_relu(pre, 2, size=(6, 5))
    got = net.features(x)
    assert got.shape == (2, 3, 6, 5)
    assert ((got - want).norm() / want.norm()).item() < 1e-12


def test_the_alias_free_net_starts_from_the_weights_of_the_downsampling_net():
    a = AliasFreeNet(AliasFreeConfig(), seed=3)
    b = DownsamplingNet(DownsamplingConfig(), seed=3)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)


def test_flip_rates_count_changed_answers_per_shift():
    images = glyph_images(32, 8, noise=0.1, seed=3)[0]

    def by_sign_of_the_mean(x):  # invariant to every band-limited shift: the mean is kept
        score = x.mean(dim=(1, 2, 3))
        return torch.stack([score, -score], dim=-1)

    assert torch.equal(flip_rates(by_sign_of_the_mean, images, [0.0, 0.5, 1.0]),
                       torch.zeros(3, dtype=torch.float64))

    def by_first_pixel(x):  # reads one pixel: moved content changes it
        return torch.stack([x[:, 0, 0, 0], -x[:, 0, 0, 0]], dim=-1)

    rates = flip_rates(by_first_pixel, images, [0.0, 0.5])
    assert rates[0] == 0 and rates[1] > 0


@pytest.mark.parametrize(("call", "error", "word"), [
    (lambda: AliasFreeConfig(m=0), ValueError, "m"),
    (lambda: AliasFreeConfig(channels=()), ValueError, "channels"),
    (lambda: AliasFreeConfig(global_pool="median"), ValueError, "global_pool"),
    (lambda: flip_rates("f", torch.zeros(1, 1, 4, 4), [0.5]), TypeError, "model"),
    (lambda: flip_rates(lambda x: x, torch.zeros(1, 1, 4, 4), []), ValueError, "taus"),
    (lambda: flip_rates(lambda x: x, torch.zeros(1, 1, 4, 4), [float("inf")]), ValueError,
     "finite"),
])
def test_bad_arguments_fail_with_an_error_naming_them(call, error, word):
    with pytest.raises(error, match=word):
        call()


def test_the_papers_numbers_are_the_ones_quoted():
    assert KARRAS_2021["StyleGAN2, AFHQv2"] == 13.83
    assert KARRAS_2021["StyleGAN3-R, AFHQv2"] == 64.89
    assert max(KARRAS_2021.values()) == 66.65


@pytest.fixture(scope="module")
def measured():
    """The chapter's experiment on seeds 5 to 9 (the chapter trains seeds 0 to 4)."""
    size, seeds = 12, (5, 6, 7, 8, 9)
    train = glyph_images(512, size, noise=0.1, seed=10)
    test = glyph_images(256, size, noise=0.1, seed=11)
    train_images, test_images = lowpass(train[0]), lowpass(test[0])
    variants = {
        "baseline": lambda s: DownsamplingNet(DownsamplingConfig("stride", "circular"), seed=s),
        "BlurPool": lambda s: DownsamplingNet(DownsamplingConfig("blur", "circular"), seed=s),
        "APS": lambda s: DownsamplingNet(DownsamplingConfig("aps", "circular"), seed=s),
        "alias-free": lambda s: AliasFreeNet(AliasFreeConfig(m=2, global_pool="max"), seed=s),
    }
    taus = [k / 8 for k in range(9)]
    accuracy, flips = {}, {}
    for name, build in variants.items():
        runs = train_runs(build, seeds, train_images, train[1], epochs=8, lr=0.03,
                          batch_size=64, optimizer="adam")
        accuracy[name] = runs.accuracy(test_images, test[1])
        flips[name] = flip_rates(runs.logits, test_images, taus)
    return accuracy, flips


def test_on_other_seeds_every_network_learns_and_aps_keeps_whole_pixels(measured):
    accuracy, flips = measured
    assert min(a.min().item() for a in accuracy.values()) > 0.85
    assert (flips["APS"][:, -1] == 0).all()
    assert (flips["APS"][:, 4] > 0).all()  # half a pixel


def test_on_other_seeds_the_alias_free_network_flips_least_and_blur_beats_the_baseline(measured):
    _, flips = measured
    mean = {name: rates.mean(dim=1) for name, rates in flips.items()}
    for other in ("baseline", "BlurPool", "APS"):
        assert mean["alias-free"].mean() < mean[other].mean()
    assert (mean["BlurPool"] < mean["baseline"]).all()
    assert (mean["alias-free"] < mean["APS"]).sum() >= 4
