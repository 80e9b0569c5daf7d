"""The claims chapter 2 states, as property tests over shapes, filters and shifts, and on the
chapter's own data, with tolerances that fail when a claim is false."""

import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from shiftlab.data import gaussian_images, random_kernel, sample_image
from shiftlab.fft_conv import fft_conv2d
from shiftlab.geometry import Rotate90, Zoom, rotate90, rotation_average
from shiftlab.layers import conv2d, edge_kernel
from shiftlab.metrics import equivariance_error, exact_tolerance, relative_error
from shiftlab.models import ConvNet, ConvNetConfig
from shiftlab.transforms import Shift, shift

BOUNDS = {torch.float32: 1e-6, torch.float64: 1e-12}
"""The chapter's bounds for "exact" in theorem 2.1: far above rounding, far below a broken law."""

dtypes = st.sampled_from([torch.float32, torch.float64])
seeds = st.integers(0, 2**31 - 1)


@st.composite
def conv_cases(draw, dtype=None):
    """A random batch, filter bank (any size up to 5, 1 to 4 channels each way) and shift."""
    dtype = draw(dtypes) if dtype is None else dtype
    k_h, k_w = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    height, width = draw(st.integers(max(k_h, 2), 16)), draw(st.integers(max(k_w, 2), 16))
    c_in, c_out = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    generator = torch.Generator().manual_seed(draw(seeds))
    x = torch.randn(2, c_in, height, width, generator=generator, dtype=dtype)
    w = torch.randn(c_out, c_in, k_h, k_w, generator=generator, dtype=dtype)
    t = (draw(st.integers(-2 * height, 2 * height)), draw(st.integers(-2 * width, 2 * width)))
    return x, w, Shift(*t)


def _moves(g: Shift, x: torch.Tensor) -> bool:
    """Whether the shift moves both axes of x (not a multiple of the size along either)."""
    return g.dy % x.shape[-2] != 0 and g.dx % x.shape[-1] != 0


# Theorem: circular convolution commutes with circular shifts.

@given(conv_cases())
def test_circular_conv_commutes_with_circular_shift(case):
    x, w, g = case
    errors = equivariance_error(lambda z: conv2d(z, w, padding="circular"), x, g)
    assert errors.max() <= BOUNDS[x.dtype]


@given(conv_cases())
def test_fft_conv_commutes_with_circular_shift_up_to_rounding(case):
    x, w, g = case
    errors = equivariance_error(lambda z: fft_conv2d(z, w), x, g)
    assert errors.max() <= BOUNDS[x.dtype]


@given(conv_cases())
def test_zero_padded_conv_breaks_the_law_the_bound_would_catch(case):
    x, w, g = case
    if max(w.shape[-2:]) == 1 or not _moves(g, x):
        return  # a 1x1 filter sees no border; a shift by the size is the identity
    errors = equivariance_error(lambda z: conv2d(z, w, padding="same"), x, g)
    assert errors.min() > 1e-3


def _with_filter(conv, w):
    return lambda z: conv(z, w)


def _chapter_conv_table():
    """The chapter's 25 random cases per precision, direct and FFT."""
    rows = {}
    for dtype in (torch.float32, torch.float64):
        generator = torch.Generator().manual_seed(0)
        cases = []
        for _ in range(25):
            k_h, k_w = torch.randint(1, 6, (2,), generator=generator).tolist()
            height = int(torch.randint(max(k_h, 2), 25, (1,), generator=generator))
            width = int(torch.randint(max(k_w, 2), 25, (1,), generator=generator))
            n, c_in, c_out = torch.randint(1, 4, (3,), generator=generator).tolist()
            x = torch.randn(n, c_in, height, width, generator=generator, dtype=dtype)
            w = torch.randn(c_out, c_in, k_h, k_w, generator=generator, dtype=dtype)
            dy = int(torch.randint(-height, height + 1, (1,), generator=generator))
            dx = int(torch.randint(-width, width + 1, (1,), generator=generator))
            cases.append((x, w, Shift(dy, dx)))
        for method, conv in (("direct", lambda z, w: conv2d(z, w, padding="circular")),
                             ("FFT", fft_conv2d)):
            rows[method, dtype] = torch.cat([
                equivariance_error(_with_filter(conv, w), x, g) for x, w, g in cases
            ])
    return rows


def test_the_chapter_table_direct_is_mostly_bit_exact_and_fft_is_a_few_epsilons():
    rows = _chapter_conv_table()
    for dtype, bound in BOUNDS.items():
        direct = rows["direct", dtype]
        assert direct.max() <= bound
        assert (direct == 0).double().mean() > 0.5  # "bit for bit in most cases"
        fft = rows["FFT", dtype]
        assert 0 < fft.max() <= bound
        assert fft.max() <= 10 * torch.finfo(dtype).eps  # "a few machine epsilons"
        assert (fft == 0).double().mean() < 0.5  # most cases round differently


@given(st.integers(1, 5), st.integers(1, 5), st.integers(1, 3), st.integers(1, 3), seeds,
       st.integers(-20, 20), st.integers(-20, 20))
def test_a_convolution_is_a_weighted_sum_of_shifts(k_h, k_w, c_in, c_out, seed, dy, dx):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(1, c_in, 9, 8, generator=generator, dtype=torch.float64)
    w = torch.randn(c_out, c_in, k_h, k_w, generator=generator, dtype=torch.float64)
    p_h, p_w = (k_h - 1) // 2, (k_w - 1) // 2
    by_shifts = sum(
        w[:, c, u, v][None, :, None, None] * shift(x[:, c : c + 1], (p_h - u, p_w - v))
        for c in range(c_in) for u in range(k_h) for v in range(k_w)
    )
    want = conv2d(x, w, padding="circular")
    assert torch.allclose(by_shifts, want, rtol=0, atol=1e-12 * float(want.abs().max()))


# Proposition: a linear map that commutes with every shift is a convolution.

def _shift_matrix(side, t):
    images = torch.eye(side**2, dtype=torch.float64).reshape(side**2, 1, side, side)
    return shift(images, t).reshape(side**2, side**2).T


@given(st.integers(2, 6), seeds)
def test_a_linear_map_that_commutes_with_shifts_is_the_convolution_with_its_impulse_response(
        side, seed):
    generator = torch.Generator().manual_seed(seed)
    A = torch.randn(side**2, side**2, generator=generator, dtype=torch.float64)
    shifts = [(dy, dx) for dy in range(side) for dx in range(side)]
    L = sum(_shift_matrix(side, t).T @ A @ _shift_matrix(side, t) for t in shifts) / len(shifts)

    def apply(matrix, x):
        return (matrix @ x.reshape(-1)).reshape(side, side)

    x = torch.randn(side, side, generator=generator, dtype=torch.float64)
    tol = exact_tolerance(torch.float64)
    assert max(equivariance_error(lambda z: apply(L, z), x, Shift(*t)) for t in shifts) <= tol
    assert max(equivariance_error(lambda z: apply(A, z), x, Shift(*t)) for t in shifts) > 0.1
    delta = torch.zeros(side, side, dtype=torch.float64)
    delta[0, 0] = 1
    h = apply(L, delta)
    superposition = sum(x[p] * shift(h, p) for p in shifts)
    gap = (apply(L, x) - superposition).norm() / apply(L, x).norm()
    assert gap <= tol
    assert h.numel() == side**2 and A.numel() == side**4


# Proposition: pointwise maps and per-channel biases commute with shifts; bias maps do not.

POINTWISE = {"ReLU": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "GELU": F.gelu,
             "softplus": F.softplus, "absolute value": torch.abs}


@given(st.sampled_from(sorted(POINTWISE)), st.integers(1, 3), st.integers(1, 12),
       st.integers(1, 12), dtypes, seeds, st.integers(-30, 30), st.integers(-30, 30))
def test_pointwise_nonlinearities_and_channel_biases_commute_with_shifts(
        name, channels, height, width, dtype, seed, dy, dx):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(2, channels, height, width, generator=generator, dtype=dtype)
    bias = torch.randn(channels, 1, 1, generator=generator, dtype=dtype)
    g, tol = Shift(dy, dx), exact_tolerance(dtype)
    assert equivariance_error(POINTWISE[name], x, g).max() <= tol
    assert equivariance_error(lambda z: z + bias, x, g).max() <= tol


@given(st.integers(1, 3), st.integers(2, 12), st.integers(2, 12), seeds, st.integers(1, 30),
       st.integers(1, 30))
def test_a_bias_map_does_not_commute_with_shifts(channels, height, width, seed, dy, dx):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(2, channels, height, width, generator=generator, dtype=torch.float64)
    bias_map = torch.randn(channels, height, width, generator=generator, dtype=torch.float64)
    if dy % height == 0 and dx % width == 0:
        return
    assert equivariance_error(lambda z: z + bias_map, x, Shift(dy, dx)).min() > 1e-3


def test_the_chapter_layer_table_bit_exact_except_softplus_and_the_bias_map():
    images = gaussian_images(8, (17, 19), channels=3, seed=3)
    generator = torch.Generator().manual_seed(4)
    bias = torch.randn(3, generator=generator)[:, None, None]
    bias_map = torch.randn(3, 17, 19, generator=generator)
    shifts = [Shift(1, 0), Shift(3, -5), Shift(-7, 11), Shift(8, 9)]

    def worst(f):
        return max(equivariance_error(f, images, g).max().item() for g in shifts)

    for name, f in POINTWISE.items():
        if name != "softplus":
            assert worst(f) == 0, name
    assert worst(lambda x: x + bias) == 0
    assert 0 < worst(F.softplus) <= exact_tolerance(torch.float32)
    assert worst(lambda x: x + bias_map) > 0.5


# Theorem: compositions of equivariant maps are equivariant; deep circular CNNs.

def deep_cnn(depth, padding="circular", dtype=torch.float32):
    """The chapter's network: ``depth`` conv -> bias -> ReLU layers, random weights and biases."""
    net = ConvNet(ConvNetConfig(channels=(8,) * depth, padding=padding), seed=0).to(dtype)
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for b in net.biases:
            b.copy_(0.1 * torch.randn(b.shape, generator=generator))
    return net.features


NONLINEARITIES = [torch.relu, torch.tanh, F.gelu, F.softplus]


@given(st.integers(1, 10), dtypes, seeds, st.integers(4, 12), st.integers(4, 12),
       st.integers(-24, 24), st.integers(-24, 24))
def test_a_composition_of_circular_conv_layers_is_equivariant_at_any_depth(
        depth, dtype, seed, height, width, dy, dx):
    generator = torch.Generator().manual_seed(seed)
    layers = []
    channels = 1
    for _ in range(depth):
        out = int(torch.randint(1, 4, (1,), generator=generator))
        k = int(torch.randint(1, 4, (1,), generator=generator))
        w = torch.randn(out, channels, k, k, generator=generator, dtype=dtype) / k
        b = torch.randn(out, 1, 1, generator=generator, dtype=dtype)
        sigma = NONLINEARITIES[int(torch.randint(0, 4, (1,), generator=generator))]
        layers.append((w, b, sigma))
        channels = out

    def f(x):
        for w, b, sigma in layers:
            x = sigma(conv2d(x, w, padding="circular") + b)
        return x

    x = torch.randn(2, 1, height, width, generator=generator, dtype=dtype)
    assert equivariance_error(f, x, Shift(dy, dx)).max() <= BOUNDS[dtype]


@given(st.integers(1, 4), seeds)
def test_a_composition_of_rotation_equivariant_maps_is_rotation_equivariant(depth, seed):
    generator = torch.Generator().manual_seed(seed)
    filters = [rotation_average(torch.randn(3, 3, generator=generator, dtype=torch.float64))
               for _ in range(depth)]

    def f(x):
        for w in filters:
            x = torch.tanh(conv2d(x, w, padding="circular"))
        return x

    x = torch.randn(9, 9, generator=generator, dtype=torch.float64)
    assert equivariance_error(f, x, Rotate90(1)) <= exact_tolerance(torch.float64)


def _chapter_depth_errors():
    images = gaussian_images(2, 16, seed=5)
    shifts = [Shift(1, 0), Shift(-7, 11)]

    def worst(f, x):
        return max(equivariance_error(f, x, g).max().item() for g in shifts)

    depths = range(1, 9)
    return {
        "circular32": [worst(deep_cnn(n), images) for n in depths],
        "circular64": [worst(deep_cnn(n, dtype=torch.float64), images.double()) for n in depths],
        "same32": [worst(deep_cnn(n, "same"), images) for n in depths],
    }


def test_the_chapter_deep_circular_cnn_is_exactly_equivariant_and_zero_padding_is_not():
    errors = _chapter_depth_errors()
    assert max(errors["circular32"]) <= 1e-6 and max(errors["circular64"]) <= 1e-12
    same = errors["same32"]
    assert min(same) > 0.1
    assert same[-1] > same[0]  # deeper zero-padded networks are further from equivariant


def test_the_slider_feature_maps_move_with_the_input_at_every_depth():
    photo = sample_image(48)[None, None]
    nets = {depth: deep_cnn(depth) for depth in (1, 4, 8)}
    with torch.no_grad():
        still = {depth: f(photo) for depth, f in nets.items()}
        for d in range(0, 48, 4):
            moved = shift(photo, (d, d))
            for depth, f in nets.items():
                gap = relative_error(f(moved), shift(still[depth], (d, d)), batched=False)
                assert gap <= exact_tolerance(torch.float32)


def test_a_deeper_net_of_the_same_seed_starts_with_the_same_layers():
    # The slider's panels show depths 1, 4 and 8 of ONE network: the nets share their layers.
    eight = ConvNet(ConvNetConfig(channels=(8,) * 8), seed=0)
    four = ConvNet(ConvNetConfig(channels=(8,) * 4), seed=0)
    for a, b in zip(four.weights, eight.weights, strict=False):
        assert torch.equal(a, b)


# Zero padding: equivariant except within depth * r of the frame and of the seam.

def border_band(size, width, t):
    lines = torch.arange(size)

    def near(index):
        return (index < width) | (index >= size - width)

    def axis(d):
        if d % size == 0:
            return torch.zeros(size, dtype=torch.bool)
        return near(lines) | near((lines - d) % size)

    return axis(t[0])[:, None] | axis(t[1])[None, :]


@given(st.sampled_from([1, 3, 5]), st.integers(1, 3), st.integers(8, 20), seeds,
       st.integers(-20, 20), st.integers(-20, 20))
def test_zero_padding_breaks_equivariance_exactly_within_depth_r_of_the_frame_and_seam(
        k, depth, size, seed, dy, dx):
    width = depth * (k - 1) // 2
    if 2 * width + 1 > size:
        return
    generator = torch.Generator().manual_seed(seed)
    filters = [torch.randn(k, k, generator=generator, dtype=torch.float64) for _ in range(depth)]

    def f(x):
        for w in filters:
            x = conv2d(x, w, padding="same")
        return x

    x = torch.randn(size, size, generator=generator, dtype=torch.float64)
    error = (f(shift(x, (dy, dx))) - shift(f(x), (dy, dx))).abs()
    band = border_band(size, width, (dy, dx))
    assert torch.all(error[~band] == 0)
    assert torch.all(error[band] > 1e-9 * f(x).abs().max())


def test_the_chapter_band_of_the_zero_padded_cnn_on_the_photo():
    picture, t = sample_image(48), (12, 20)
    shares = []
    x = picture[None, None].double()
    for depth in range(1, 7):
        f = deep_cnn(depth, "same", torch.float64)
        with torch.no_grad():
            error = f(shift(x, t)) - shift(f(x), t)
        error = error.abs().amax(dim=(0, 1))
        band = border_band(48, depth, t)
        assert error[~band].max() == 0
        assert (error[band] > 0).double().mean() > 0.9
        shares.append(band.double().mean().item())
    assert shares == sorted(shares) and shares[0] < 0.2 and shares[-1] > 0.7


def test_the_chapter_single_zero_padded_layer_errs_at_the_frame_and_the_seam():
    kernel = random_kernel(size=3, seed=6)[0, 0]
    picture, t = sample_image(48), (12, 20)
    error = (conv2d(shift(picture, t), kernel, padding="same")
             - shift(conv2d(picture, kernel, padding="same"), t)).abs()
    band = border_band(48, 1, t)
    assert error[~band].max() == 0
    assert (error[band] > 0).double().mean() > 0.9
    seam_rows = error[[t[0] - 1, t[0]], 10:-10]  # the old border, away from the columns' bands
    assert (seam_rows > 0).all()


# Not equivariant to rotation or zoom; a rotation-symmetric filter fixes the rotation only.

@given(seeds, st.integers(4, 16), st.sampled_from(["circular", "same"]))
def test_a_random_filter_does_not_commute_with_rotation_or_zoom(seed, size, padding):
    w = random_kernel(size=3, seed=seed % 10_000, dtype=torch.float64)
    x = gaussian_images(3, size, seed=seed % 997, dtype=torch.float64)

    def f(z):
        return conv2d(z, w, padding=padding)

    assert equivariance_error(f, x, Rotate90(1)).min() > 0.1
    assert equivariance_error(f, x, Zoom(2)).min() > 0.01


@given(seeds, st.integers(3, 16), st.sampled_from([1, 3, 5]), st.integers(-3, 3))
def test_a_rotation_symmetric_filter_commutes_with_quarter_turns_but_not_with_zoom(
        seed, size, k, turns):
    if k > size:
        return
    generator = torch.Generator().manual_seed(seed)
    w = rotation_average(torch.randn(2, 2, k, k, generator=generator, dtype=torch.float64))
    x = torch.randn(2, 2, size, size, generator=generator, dtype=torch.float64)

    def f(z):
        return conv2d(z, w, padding="circular")

    assert equivariance_error(f, x, Rotate90(turns)).max() <= exact_tolerance(torch.float64)
    if k > 1:
        assert equivariance_error(f, x, Zoom(2)).min() > 1e-3


def test_the_chapter_geometry_table():
    images = gaussian_images(8, 16, seed=7, dtype=torch.float64)
    random_filters = [random_kernel(size=3, seed=s, dtype=torch.float64) for s in range(10)]

    def errors(bank, g):
        return torch.cat([equivariance_error(lambda z, w=w: conv2d(z, w, padding="circular"),
                                             images, g) for w in bank])

    edge = [edge_kernel("vertical", torch.float64)[None, None]]
    symmetric = [rotation_average(w) for w in random_filters]
    for bank in (random_filters, edge):
        assert errors(bank, Rotate90(1)).min() > 0.5
        assert errors(bank, Zoom(2)).min() > 0.5
    assert errors(symmetric, Rotate90(1)).max() <= exact_tolerance(torch.float64)
    assert errors(symmetric, Zoom(2)).min() > 0.15


def test_an_edge_filter_averages_to_zero_over_the_rotations():
    for direction in ("vertical", "horizontal"):
        assert torch.equal(rotation_average(edge_kernel(direction)), torch.zeros(3, 3))


def test_the_edge_figure_rotation_changes_the_response():
    edge, photo = edge_kernel("vertical"), sample_image(48)
    error = equivariance_error(lambda z: conv2d(z, edge, padding="circular"), photo,
                               Rotate90(1))
    assert error > 0.5


@given(seeds, st.integers(3, 12), st.sampled_from([1, 3, 5]), st.integers(-3, 3))
def test_turning_the_image_and_the_filter_together_turns_the_output(seed, size, k, turns):
    if k > size:
        return
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(size, size, generator=generator, dtype=torch.float64)
    w = torch.randn(k, k, generator=generator, dtype=torch.float64)
    turned = conv2d(rotate90(x, turns), rotate90(w, turns), padding="circular")
    assert torch.allclose(turned, rotate90(conv2d(x, w, padding="circular"), turns), atol=1e-12)


@given(st.sampled_from([1, 3, 5]), st.integers(5, 14), st.integers(5, 14), seeds)
def test_zero_padding_and_circular_padding_agree_where_the_filter_stays_inside_the_frame(
        k, height, width, seed):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(height, width, generator=generator, dtype=torch.float64)
    w = torch.randn(k, k, generator=generator, dtype=torch.float64)
    r = (k - 1) // 2
    inside = (slice(r, height - r), slice(r, width - r))
    same, circular = conv2d(x, w, padding="same"), conv2d(x, w, padding="circular")
    assert torch.equal(same[inside], circular[inside])
    if k > 1:
        assert not torch.equal(same, circular)
