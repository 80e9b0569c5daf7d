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


def test_digits_on_canvas_are_sklearns_digits_centred_and_split_once():
    from shiftlab.data import DIGIT_SIDE, digits_on_canvas

    train_x, train_y = digits_on_canvas(16)
    test_x, test_y = digits_on_canvas(16, split="test")
    all_x, all_y = digits_on_canvas(16, split="all")
    assert train_x.shape == (1348, 1, 16, 16) and test_x.shape == (449, 1, 16, 16)
    assert all_x.shape == (1797, 1, 16, 16) and train_y.dtype == torch.long
    assert sorted(torch.cat([train_y, test_y]).tolist()) == sorted(all_y.tolist())
    assert set(all_y.tolist()) == set(range(10))
    # grey levels k / 16: exact in float32; nothing outside the centred 8 x 8 square
    assert torch.equal(all_x * 16, (all_x * 16).round()) and all_x.max() == 1
    inside = torch.zeros(16, 16, dtype=torch.bool)
    inside[4 : 4 + DIGIT_SIDE, 4 : 4 + DIGIT_SIDE] = True
    assert torch.equal(all_x[:, 0, ~inside], torch.zeros_like(all_x[:, 0, ~inside]))
    assert torch.equal(digits_on_canvas(16)[0], train_x)  # deterministic


def test_the_digits_read_from_scikit_learns_file_are_load_digits():
    # read without importing scikit-learn (a second of SciPy imports); the same numbers
    from sklearn.datasets import load_digits

    from shiftlab.data import DIGIT_COUNT, _digit_arrays, digits_on_canvas

    images, labels = _digit_arrays()
    digits = load_digits()
    assert images.shape == (DIGIT_COUNT, 8, 8)
    assert (images == digits.images / 16.0).all() and (labels == digits.target).all()
    canvas, targets = digits_on_canvas(8, split="all")
    assert torch.equal(canvas[:, 0], torch.from_numpy(digits.images / 16.0).float())
    assert torch.equal(targets, torch.from_numpy(digits.target).long())


def test_digits_moved_on_the_canvas_are_circular_shifts_of_the_centred_ones():
    from shiftlab.data import digits_on_canvas
    from shiftlab.transforms import shift

    centred, labels = digits_on_canvas(20, split="test")
    moved, moved_labels = digits_on_canvas(20, split="test", max_shift=6, seed=3)
    assert torch.equal(labels, moved_labels)
    offsets = set()
    for k in range(0, len(centred), 7):
        matches = [(dy, dx) for dy in range(-6, 7) for dx in range(-6, 7)
                   if torch.equal(shift(centred[k, 0], (dy, dx)), moved[k, 0])]
        assert matches, f"digit {k} is not a shift of its centred copy"
        offsets.add(matches[0])
    assert len(offsets) > 20  # the offsets vary from digit to digit
    assert not torch.equal(moved, digits_on_canvas(20, split="test", max_shift=6, seed=4)[0])
