"""Generated and shipped images: deterministic, the right shape, nothing downloaded."""

import torch

from shiftlab.data import gaussian_images, integer_images, random_kernel, sample_image


def test_sample_image_is_a_grayscale_photograph_in_the_unit_interval():
    image = sample_image(48)
    assert image.shape == (48, 48)
    assert image.dtype == torch.float32
    assert 0 <= image.min() < image.max() <= 1
    assert image.std() > 0.1  # a photograph, not a flat field
    assert torch.equal(image, sample_image(48))


def test_sample_image_in_float64_is_computed_in_float64():
    image = sample_image(32, dtype=torch.float64)
    assert image.dtype == torch.float64
    assert not torch.equal(image, image.float().double())


def test_random_images_depend_only_on_their_seed():
    torch.manual_seed(123)
    first = gaussian_images(3, (4, 5), channels=2, seed=7)
    torch.manual_seed(456)
    assert torch.equal(first, gaussian_images(3, (4, 5), channels=2, seed=7))
    assert not torch.equal(first, gaussian_images(3, (4, 5), channels=2, seed=8))
    assert first.shape == (3, 2, 4, 5)


def test_random_kernel_has_the_filter_bank_shape():
    kernel = random_kernel(4, 2, 5, seed=1, dtype=torch.float64)
    assert kernel.shape == (4, 2, 5, 5)
    assert kernel.dtype == torch.float64
    assert torch.equal(kernel, random_kernel(4, 2, 5, seed=1, dtype=torch.float64))


def test_integer_images_hold_integers_in_the_range_and_are_seeded():
    images = integer_images(3, (4, 5), channels=2, low=-2, high=3, seed=1, dtype=torch.float64)
    assert images.shape == (3, 2, 4, 5) and images.dtype == torch.float64
    assert torch.equal(images, images.round())
    assert images.min() >= -2 and images.max() <= 3
    assert torch.equal(images, integer_images(3, (4, 5), channels=2, low=-2, high=3, seed=1,
                                              dtype=torch.float64))
