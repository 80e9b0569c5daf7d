"""Checkers for chapter 2, convolution is translation equivariant.

Each checker draws its trials from a seeded generator: randomized over shapes, filters, shifts and
images, and the same trials on every run, so a notebook's output does not change between runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from shiftlab import _validate
from shiftlab.convolution import Rotate90, rotate90, rotation_average
from shiftlab.exercises._core import (
    ExerciseError,
    as_number,
    as_tensor,
    attempt,
    close,
    disagreements,
    exercise,
    grid_text,
    predictions,
    random_int,
    random_pair,
)
from shiftlab.layers import conv2d, edge_kernel
from shiftlab.metrics import equivariance_error, exact_tolerance, relative_error
from shiftlab.transforms import Identity, Shift, shift

Image = torch.Tensor


def _flipped(w: torch.Tensor) -> torch.Tensor:
    return torch.flip(w, dims=(-2, -1))


@exercise("2.1", "convolution as a sum of shifts")
def check_conv_by_shifts(conv_by_shifts: Callable, *, seed: int = 0, trials: int = 30) -> None:
    """``conv_by_shifts(x, w)`` must equal ``conv2d(x, w, padding="circular")`` for ``(H, W)``
    images and odd ``(k, k)`` filters, in float64 to 1e-9."""
    generator = torch.Generator().manual_seed(seed)
    for _ in range(trials):
        k = (1, 3, 5)[random_int(0, 2, generator)]
        height, width = random_int(k, 9, generator), random_int(k, 9, generator)
        x = torch.randn(height, width, generator=generator, dtype=torch.float64)
        w = torch.randn(k, k, generator=generator, dtype=torch.float64)
        original = x
        want = conv2d(original, w, padding="circular")
        call = f"conv_by_shifts(x, w) with x of shape {(height, width)} and a {k}x{k} filter w"
        got = as_tensor(attempt(conv_by_shifts, x, w, call=call), call, dtype=None)
        if got.shape != want.shape:
            raise ExerciseError(
                f"{call} returned shape {tuple(got.shape)}; expected {(height, width)}"
            )
        if got.dtype != x.dtype:
            raise ExerciseError(f"{call} returned dtype {got.dtype}; expected {x.dtype}")
        if close(got, want):
            continue
        r = (k - 1) // 2
        hint = ""
        if close(got, conv2d(original, _flipped(w), padding="circular")):
            hint = ("You computed a convolution with the flipped filter. The term w[u, v] "
                    "multiplies x[i + u - r, j + v - r], which is the shift by (r - u, r - v) "
                    "of x, not by (u - r, v - r).")
        elif close(got, conv2d(original, w.T.contiguous(), padding="circular")):
            hint = "Rows and columns are swapped: u moves rows (dy), v moves columns (dx)."
        elif close(got, conv2d(original, w, padding="same")):
            hint = "Zeros came in at the border: use shift (circular), not translate."
        elif any(close(got, shift(want, (s * r, s * r))) for s in (1, -1, 2, -2)):
            hint = ("The result is shifted: the filter is not centred. Offset the shifts by "
                    "r = (k - 1) // 2, so that w[r, r] multiplies x[i, j] itself.")
        raise ExerciseError(
            f"{call} differs from conv2d(x, w, padding='circular') by "
            f"{float(relative_error(got, want, batched=False)):.2g} (relative). {hint}"
        )


@dataclass(frozen=True)
class Layer:
    """A layer of ``(N, C, H, W)`` images to classify as equivariant to shifts or not."""

    formula: str
    f: Callable[[Image], Image]
    why: str

    def __post_init__(self) -> None:
        _validate.text(self.formula, "formula")
        _validate.function(self.f, "f")
        _validate.text(self.why, "why")


_BIAS_MAP = torch.randn(2, 12, 12, generator=torch.Generator().manual_seed(2),
                        dtype=torch.float64)


def _instance_norm(x: Image) -> Image:
    mean = x.mean(dim=(2, 3), keepdim=True)
    return (x - mean) / x.std(dim=(2, 3), keepdim=True)


def _circular_max_pool(x: Image) -> Image:
    return F.max_pool2d(F.pad(x, (1, 1, 1, 1), mode="circular"), 3, stride=1)


def _coordinates(x: Image) -> Image:
    columns = torch.arange(x.shape[-1], dtype=x.dtype).expand(len(x), 1, *x.shape[-2:])
    return torch.cat([x, columns], dim=1)


def _spatial_softmax(x: Image) -> Image:
    return torch.softmax(x.flatten(2), dim=2).reshape(x.shape)


LAYERS: dict[str, Layer] = {
    "a": Layer("torch.tanh(x)", torch.tanh,
               "tanh acts on each entry alone, wherever it sits"),
    "b": Layer(
        "(x - mean) / std, both over the pixels of each channel (instance normalisation)",
        _instance_norm,
        "the mean and the standard deviation of a channel do not depend on where its pixels "
        "are (a shift only reorders them), so every pixel is normalised the same way",
    ),
    "c": Layer(
        "x + bias_map, a fixed number per pixel (shape (C, H, W))",
        lambda x: x + _BIAS_MAP,
        "the bias at a pixel depends on its absolute position, so moved content meets a "
        "different bias",
    ),
    "d": Layer(
        "3x3 max pooling with stride 1 on the circularly padded image",
        _circular_max_pool,
        "with stride 1 and circular padding every output pixel takes the max of the same kind "
        "of neighbourhood; it is the stride (chapter 3) and the border, not the max, that "
        "break equivariance",
    ),
    "e": Layer(
        "F.max_pool2d(x, 3, stride=1, padding=1)  (PyTorch ignores pixels beyond the border)",
        lambda x: F.max_pool2d(x, 3, stride=1, padding=1),
        "windows at the border are cut short while after a circular shift the same content "
        "sees its wrapped-around neighbours: the border breaks the law",
    ),
    "f": Layer(
        "torch.cat([x, column_index], dim=1)  (CoordConv: append the column as a channel)",
        _coordinates,
        "the appended channel stays put while the content moves: the output tells where the "
        "content is, on purpose",
    ),
    "g": Layer(
        "softmax over all the pixels of each channel (spatial softmax)",
        _spatial_softmax,
        "the normalising sum runs over all pixels, which a shift only reorders; each pixel is "
        "then treated alike",
    ),
}

LAYER_ANSWERS = ("equivariant", "not equivariant")
_LAYER_SHIFTS = (Shift(1, 0), Shift(0, 3), Shift(5, 2), Shift(-3, 7))


def measure_layer(f: Callable[[Image], Image], *, seed: int = 0) -> float:
    """Largest equivariance error of ``f`` over random ``(4, 2, 12, 12)`` images and four
    shifts, in float64."""
    _validate.function(f, "f")
    generator = torch.Generator().manual_seed(_validate.integer(seed, "seed"))
    images = torch.randn(4, 2, 12, 12, generator=generator, dtype=torch.float64)
    return max(float(equivariance_error(f, images, g).max()) for g in _LAYER_SHIFTS)


def layer_verdict(error: float) -> str:
    """``equivariant`` when ``error`` is exact in float64 (at most 64 ε), else ``not
    equivariant``."""
    error = _validate.real(error, "error", low=0, finite=False)
    return "equivariant" if error <= exact_tolerance(torch.float64) else "not equivariant"


@exercise("2.2", "which layers commute with shifts?")
def check_layer_predictions(my_predictions: Callable[[], dict[str, str]]) -> None:
    """``my_predictions()`` returns ``{name: answer}`` for every layer in ``LAYERS``."""
    layers = dict(LAYERS)  # the questions, fixed before the learner's code runs
    answers = predictions(my_predictions, layers, allowed=LAYER_ANSWERS)
    wrong = []
    for name, layer in layers.items():
        error = measure_layer(layer.f)
        truth = layer_verdict(error)
        if answers[name] != truth:
            wrong.append(
                f"  {name}: {layer.formula}\n     you said {answers[name]!r}, measured "
                f"equivariance error {error:.1e} -> {truth}: {layer.why}."
            )
    disagreements(wrong, len(LAYERS), "predictions disagree with the measurement (exact "
                  f"means ≤ {exact_tolerance(torch.float64):.1e} in float64)")


def zero_padded_stack(filters: list[torch.Tensor]) -> Callable[[Image], Image]:
    """``x -> w_L ⋆ ... ⋆ w_1 ⋆ x`` with zero padding ("same") at every layer, no nonlinearity."""

    filters = list(_validate.sequence(filters, "filters"))
    for k, w in enumerate(filters):
        _validate.image_tensor(w, f"filters[{k}]", ranks=(2, 4))

    def f(x: Image) -> Image:
        for w in filters:
            x = conv2d(x, w, padding="same")
        return x

    return f


def measured_error_mask(size: int, k: int, depth: int, t: tuple[int, int], *,
                        seed: int = 0) -> torch.Tensor:
    """Where ``|f(T_t x) - T_t f(x)|`` is more than rounding, for a stack of ``depth``
    zero-padded random ``k x k`` filters and a random ``(size, size)`` image, in float64: a bool
    ``(size, size)``. The threshold, 1e-9 of the output's largest value, is a million times the
    rounding bound of these short float64 sums and far below the error at the border."""
    size = _validate.positive_int(size, "size", high=1024)
    k = _validate.positive_int(k, "k", high=size)
    depth = _validate.positive_int(depth, "depth", high=64)
    t = _validate.offset(t)
    generator = torch.Generator().manual_seed(_validate.integer(seed, "seed"))
    f = zero_padded_stack([torch.randn(k, k, generator=generator, dtype=torch.float64)
                           for _ in range(depth)])
    x = torch.randn(size, size, generator=generator, dtype=torch.float64)
    fx = f(x)
    return (f(shift(x, t)) - shift(fx, t)).abs() > 1e-9 * fx.abs().max()


def _band(size: int, width: int, t: tuple[int, int], *, seam: bool = True,
          frame: bool = True, zero_shift_rule: bool = True) -> torch.Tensor:
    """Rows and columns within ``width`` of the frame or of the seam, as a mask; the keywords
    switch off parts of the rule, to recognise the likely mistakes."""
    lines = torch.arange(size)

    def near(index: torch.Tensor) -> torch.Tensor:
        return (index < width) | (index >= size - width)

    def axis(d: int) -> torch.Tensor:
        if zero_shift_rule and d % size == 0:
            return torch.zeros(size, dtype=torch.bool)
        return (near(lines) & frame) | (near((lines - d) % size) & seam)

    return axis(t[0])[:, None] | axis(t[1])[None, :]


def _mask_text(mask: torch.Tensor) -> str:
    return "\n".join("  " + "".join("#" if v else "." for v in row) for row in mask.tolist())


@exercise("2.3", "where zero padding breaks the law")
def check_error_mask(predicted_error_mask: Callable, *, seed: int = 0, trials: int = 30) -> None:
    """``predicted_error_mask(size, k, depth, t)`` returns the bool ``(size, size)`` mask of the
    pixels where a stack of ``depth`` zero-padded ``k x k`` layers is not shift equivariant."""
    generator = torch.Generator().manual_seed(seed)
    for trial in range(trials):
        k = (1, 3, 5)[random_int(0, 2, generator)] if trial >= 3 else 3
        depth = random_int(1, 3, generator) if trial >= 3 else 1
        width = depth * (k - 1) // 2
        size = random_int(max(8, 2 * width + 1), 16, generator)
        t = random_pair(-size, size, generator)
        if trial % 6 == 5:
            t = (0, t[1]) if trial % 12 == 5 else (t[0], size)
        want = measured_error_mask(size, k, depth, t, seed=seed + trial)
        call = f"predicted_error_mask(size={size}, k={k}, depth={depth}, t={t})"
        got = as_tensor(attempt(predicted_error_mask, size, k, depth, t, call=call), call,
                        dtype=None)
        if got.dtype != torch.bool or got.shape != (size, size):
            raise ExerciseError(
                f"{call} returned dtype {got.dtype} and shape {tuple(got.shape)}; expected a "
                f"bool tensor of shape {(size, size)} (True where the error is nonzero)"
            )
        if torch.equal(got, want):
            continue
        r = (k - 1) // 2
        hint = ""
        if torch.equal(got, _band(size, r, t)) and depth > 1:
            hint = "Each layer reaches r = (k - 1) // 2 pixels further: the band is depth * r wide."
        elif torch.equal(got, _band(size, width, t, seam=False)):
            hint = ("The frame is right, but the circular shift also carries the image's old "
                    "border (the seam) inside: pixels near it are wrong too.")
        elif torch.equal(got, _band(size, width, t, frame=False)):
            hint = "The seam is right, but pixels near the frame itself are wrong too."
        elif torch.equal(got, _band(size, width, t, zero_shift_rule=False)):
            hint = ("Along an axis where the shift is 0 (mod size) nothing moves: the same "
                    "pixels see the same zeros on both sides, so that axis adds no band.")
        elif any(torch.equal(got, _band(size, depth * wrong, t)) for wrong in (k - 1, k)):
            hint = "The band is too wide: a k x k filter reaches r = (k - 1) // 2 pixels."
        raise ExerciseError(
            f"{call} is wrong (# marks a nonzero error).\nmeasured =\n{_mask_text(want)}\n"
            f"predicted =\n{_mask_text(got)}\n{hint}"
        )


def _named_filters() -> dict[str, torch.Tensor]:
    binomial = torch.tensor([1.0, 2.0, 1.0], dtype=torch.float64)
    laplacian = torch.tensor([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=torch.float64)
    random = torch.randn(3, 3, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    return {
        "box (all ones / 9)": torch.full((3, 3), 1 / 9, dtype=torch.float64),
        "binomial blur": torch.outer(binomial, binomial) / 16,
        "Laplacian": laplacian,
        "vertical edge (Sobel)": edge_kernel("vertical", torch.float64),
        "diagonal line": torch.eye(3, dtype=torch.float64),
        "random": random,
        "random, rotation-averaged": rotation_average(random),
    }


FILTERS: dict[str, torch.Tensor] = _named_filters()
"""Seven ``(3, 3)`` float64 filters for exercise 2.4: which ones commute with a quarter turn?"""


def _rotation_error_reference(w: torch.Tensor, images: torch.Tensor) -> float:
    def f(x: Image) -> Image:
        return conv2d(x, w[None, None], padding="circular")

    return float(equivariance_error(f, images, Rotate90(1)).max())


def _rotation_hint(got: float, w: torch.Tensor, images: torch.Tensor) -> str:
    """What a wrong ``rotation_error`` probably measured instead, and the filter it was given."""

    def near(value: float) -> bool:
        return abs(got - value) <= 1e-9 + 1e-6 * abs(value)

    def conv(padding: str) -> Callable[[Image], Image]:
        return lambda x: conv2d(x, w[None, None], padding=padding)

    circular = conv("circular")
    hint = f"The filter was w =\n{grid_text(w)}\n"
    if near(float(equivariance_error(circular, images, Rotate90(1)).mean())):
        return hint + "That is the mean over the images: take the largest error."
    if near(float(equivariance_error(circular, images, Rotate90(1), Rotate90(-1)).max())):
        return hint + "The output was turned the other way: turn both by Rotate90(1)."
    if near(float(equivariance_error(circular, images, Rotate90(1), Identity()).max())):
        return hint + "That is the invariance error: turn the output too, g' = Rotate90(1)."
    if near(float(equivariance_error(circular, images, Shift(1, 0)).max())):
        return hint + "That is the error for a shift: use a rotation by 90°, Rotate90(1)."
    if near(float(equivariance_error(conv("same"), images, Rotate90(1)).max())):
        return hint + "That is with zero padding: use padding='circular'."
    return hint


@exercise("2.4", "which filters commute with a rotation?")
def check_rotation_error(rotation_error: Callable, *, seed: int = 0, trials: int = 12) -> None:
    """``rotation_error(w, images)`` is the largest, over the images ``(N, 1, H, H)``, of the
    relative equivariance error of ``x -> conv2d(x, w, padding="circular")`` under a quarter
    turn, with the output turned the same way."""
    generator = torch.Generator().manual_seed(seed)
    names = list(FILTERS)
    for trial in range(trials):
        size = random_int(6, 14, generator)
        images = torch.randn(3, 1, size, size, generator=generator, dtype=torch.float64)
        w = FILTERS[names[trial % len(names)]] if trial < len(names) else torch.randn(
            3, 3, generator=generator, dtype=torch.float64)
        want = _rotation_error_reference(w, images)
        call = f"rotation_error(w, images) with images of shape {tuple(images.shape)}"
        got = as_number(attempt(rotation_error, w, images, call=call), call)
        if abs(got - want) <= 1e-9 + 1e-6 * want:
            continue

        hint = _rotation_hint(got, w, images)
        raise ExerciseError(f"{call} returned {got:.6g}; expected {want:.6g}. {hint}")
    images = torch.randn(4, 1, 12, 12, generator=generator, dtype=torch.float64)
    tol = exact_tolerance(torch.float64)
    print(f"Your rotation_error on the filters of FILTERS (exact: ≤ {tol:.1e}):")
    for name, w in FILTERS.items():
        error = as_number(attempt(rotation_error, w, images, call=name), name)
        verdict = "commutes" if error <= tol else "does not commute"
        print(f"  {name:<26} {error:8.1e}  {verdict}")


def lifting_conv(x: Image, w: torch.Tensor) -> Image:
    """The four responses of ``x`` to the filter ``w`` turned by 0, 1, 2 and 3 quarter turns.

    x: ``(H, H)``; w: ``(k, k)`` with odd ``k``. Returns ``(4, H, H)`` with
    ``y[q] = conv2d(x, rotate90(w, q), padding="circular")``: the first layer of a
    group-equivariant CNN for the rotations by 90° (Cohen and Welling, 2016).
    """
    x = _validate.image_tensor(x)
    w = _validate.image_tensor(w, "w", ranks=(x.dim(),))
    if w.shape[-2] != w.shape[-1]:
        raise ValueError(f"w must be a square filter, got shape {tuple(w.shape)}")
    return torch.stack([conv2d(x, rotate90(w, q), padding="circular") for q in range(4)])


def _rotate_lifted_reference(y: Image) -> Image:
    return torch.roll(rotate90(y, 1), 1, dims=0)


@exercise("2.5", "the output transformation of a lifting layer")
def check_rotate_lifted(rotate_lifted: Callable, *, seed: int = 0, trials: int = 12) -> None:
    """``rotate_lifted(y)`` maps ``(4, H, H)`` to ``(4, H, H)`` such that
    ``lifting_conv(rotate90(x), w) == rotate_lifted(lifting_conv(x, w))``."""
    generator = torch.Generator().manual_seed(seed)
    for _ in range(trials):
        size, k = random_int(5, 11, generator), (3, 5)[random_int(0, 1, generator)]
        x = torch.randn(size, size, generator=generator, dtype=torch.float64)
        w = torch.randn(k, k, generator=generator, dtype=torch.float64)
        y = lifting_conv(x, w)
        want = lifting_conv(rotate90(x), w)
        noise = torch.randn(4, size, size, generator=generator, dtype=torch.float64)
        noise_want = _rotate_lifted_reference(noise)
        call = f"rotate_lifted(y) with y = lifting_conv(x, w) of shape {tuple(y.shape)}"
        got = as_tensor(attempt(rotate_lifted, y, call=call), call)
        if got.shape != want.shape:
            raise ExerciseError(f"{call} returned shape {tuple(got.shape)}; expected "
                                f"{tuple(want.shape)}")
        if close(got, want):
            if close(as_tensor(attempt(rotate_lifted, noise, call=call), call), noise_want):
                continue
            raise ExerciseError(
                f"rotate_lifted is right on lifting_conv(x, w) but not on an arbitrary "
                f"{tuple(noise.shape)} tensor: T' must be one fixed transformation of the "
                "four maps, using nothing but y."
            )
        hint = ""
        turned = rotate90(y, 1)
        if close(got, turned):
            hint = ("Each map is turned correctly, but the channels are in the wrong order: "
                    "turning the input turns the filter's role by one step too.")
        elif close(got, torch.roll(turned, -1, dims=0)):
            hint = "The channels cycle the other way: new channel q is the turned channel q - 1."
        elif close(got, torch.roll(y, 1, dims=0)) or close(got, torch.roll(y, -1, dims=0)):
            hint = "The channels are cycled, but each map must be turned as well."
        elif any(close(got, torch.roll(rotate90(y, -1), s, dims=0)) for s in (-1, 0, 1)):
            hint = "Turn the maps counter-clockwise, as rotate90(·, 1) turned the input."
        raise ExerciseError(
            f"{call}: rotate_lifted(lifting_conv(x, w)) differs from "
            f"lifting_conv(rotate90(x), w) by {float(relative_error(got, want, batched=False)):.2g}"
            f" (relative). {hint}"
        )


__all__ = [
    "FILTERS",
    "LAYERS",
    "LAYER_ANSWERS",
    "check_conv_by_shifts",
    "check_error_mask",
    "check_layer_predictions",
    "check_rotate_lifted",
    "check_rotation_error",
    "layer_verdict",
    "lifting_conv",
    "measure_layer",
    "measured_error_mask",
    "zero_padded_stack",
]
