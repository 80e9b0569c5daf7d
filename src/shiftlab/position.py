"""Absolute position read out of a network's features with a linear probe.

At every pixel ``p = (i, j)`` of an image, the network's features form a vector ``φ(x)[:, i, j]``.
A *linear read-out* predicts the pixel's coordinates from it,

    ŷ(p) = W^T φ(x)[:, p] + b,      y(p) = (row, column) scaled to [-1, 1],

fitted by ridge regression on training images and scored with ``R²`` on held-out images. For
an equivariant network on images whose statistics are the same at every pixel (iid noise), the
features at every pixel have the same distribution, so no read-out beats the mean: ``R² ≈ 0``.
A border that makes some pixels special lets it do better (Islam et al., ICLR 2020).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from shiftlab import _validate
from shiftlab.layers import conv2d
from shiftlab.models import ConvNet


def hypercolumns(net: ConvNet, x: torch.Tensor) -> torch.Tensor:
    """The feature maps of every layer of ``net``, stacked: ``(N, Σ channels, H, W)``.

    Layer ``l`` is ``relu(conv2d(h, w_l, padding) + b_l)``, as in ``ConvNet.features`` (whose
    output is the last block of channels). Only for size-preserving padding modes and stride 1.
    """
    if not isinstance(net, ConvNet):
        raise TypeError(f"net must be a shiftlab.models.ConvNet, got {type(net).__name__}")
    config = net.config
    if config.padding in ("valid", "full") or config.stride != 1 or config.local_pool:
        raise ValueError(
            "net must keep the image size (padding 'same', 'circular' or 'reflect', stride 1, "
            f"no local pooling), got padding={config.padding!r}, stride={config.stride}, "
            f"local_pool={config.local_pool}"
        )
    h = _validate.network_input(x, net)
    if h.shape[1] != config.in_channels:
        raise ValueError(f"x must have in_channels = {config.in_channels} channels (axis 1), got "
                         f"shape {tuple(h.shape)}")
    layers = []
    with torch.no_grad():
        for weight, bias in zip(net.weights, net.biases, strict=True):
            h = torch.relu(conv2d(h, weight, padding=config.padding) + bias[:, None, None])
            layers.append(h)
    return torch.cat(layers, dim=1)


def pixel_features(features: torch.Tensor) -> torch.Tensor:
    """One row per pixel: ``(N, C, H, W) -> (N·H·W, C)``, images first, then rows, then columns."""
    features = _validate.image_tensor(features, "features", ranks=(4,))
    return features.permute(0, 2, 3, 1).reshape(-1, features.shape[1])


def coordinate_targets(n: int, size: int | tuple[int, int],
                       dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """The (row, column) of every pixel of ``n`` images, scaled to ``[-1, 1]``: ``(n·H·W, 2)``.

    In the order of ``pixel_features``.
    """
    n = _validate.positive_int(n, "n")
    if isinstance(size, tuple | list):
        if len(size) != 2:
            raise ValueError(f"size must be an int or a pair (H, W), got {size!r}")
        height, width = (_validate.positive_int(s, "size", high=4096) for s in size)
    else:
        height = width = _validate.positive_int(size, "size", high=4096)
    dtype = _validate.float_dtype(dtype)
    if n * height * width > 2**26:
        raise ValueError(f"n x H x W must be at most {2**26} pixels, got n = {n} and size "
                         f"{(height, width)}")
    rows = torch.linspace(-1, 1, height, dtype=dtype)
    columns = torch.linspace(-1, 1, width, dtype=dtype)
    grid = torch.stack(torch.meshgrid(rows, columns, indexing="ij"), dim=-1).reshape(-1, 2)
    return grid.repeat(n, 1)


@dataclass(frozen=True)
class LinearReadout:
    """``ŷ = features @ weight + bias``: weight ``(C, T)``, bias ``(T,)``."""

    weight: torch.Tensor
    bias: torch.Tensor

    def __post_init__(self) -> None:
        weight = _matrix(self.weight, "weight", double=False)
        if not isinstance(self.bias, torch.Tensor) or not self.bias.is_floating_point():
            raise TypeError(f"bias must be a floating-point torch.Tensor, got {self.bias!r:.60}")
        if self.bias.shape != (weight.shape[1],):
            raise ValueError(f"bias must have shape ({weight.shape[1]},), one per target, got "
                             f"{tuple(self.bias.shape)}")

    def __call__(self, features: torch.Tensor) -> torch.Tensor:
        """Predictions ``(P, T)`` for ``features`` of shape ``(P, C)``."""
        return features.to(self.weight.dtype) @ self.weight + self.bias


def _matrix(value: torch.Tensor, name: str, *, double: bool = True) -> torch.Tensor:
    if not isinstance(value, torch.Tensor) or not value.is_floating_point():
        raise TypeError(f"{name} must be a floating-point torch.Tensor, got {value!r:.60}")
    if value.dim() != 2 or value.numel() == 0:
        raise ValueError(f"{name} must be a non-empty matrix (P, ·), got {tuple(value.shape)}")
    _validate.finite_values(value, name)
    return value.double() if double else value


def fit_readout(
    features: torch.Tensor, targets: torch.Tensor, ridge: float = 1e-3
) -> LinearReadout:
    """Ridge regression with an unpenalised intercept, in closed form (float64).

    Minimises ``(1/P) ‖F W + 1 bᵀ - Y‖² + λ ‖W‖²`` over W and b, for features ``F`` ``(P, C)``
    and targets ``Y`` ``(P, T)``: with the centred ``F_c``, ``Y_c``,
    ``W = (F_cᵀ F_c / P + λ I)⁻¹ F_cᵀ Y_c / P`` and ``b = mean(Y) - mean(F) W``.
    """
    features, targets = _matrix(features, "features"), _matrix(targets, "targets")
    if len(features) != len(targets):
        raise ValueError(
            f"features and targets must have one row per pixel each, got {len(features)} and "
            f"{len(targets)} rows"
        )
    if len(features) < 2:
        raise ValueError(f"features must have at least 2 rows (the fit centres them), got "
                         f"{len(features)}")
    if targets.device != features.device:
        raise ValueError(f"targets must be on the device of features, {features.device}, got "
                         f"{targets.device}")
    ridge = _validate.non_negative_float(ridge, "ridge")
    mean_f, mean_y = features.mean(dim=0), targets.mean(dim=0)
    centred_f, centred_y = features - mean_f, targets - mean_y
    gram = centred_f.T @ centred_f / len(features)
    gram += ridge * torch.eye(features.shape[1], dtype=torch.float64, device=features.device)
    right = centred_f.T @ centred_y / len(features)
    # least squares (a zero ridge may leave the Gram matrix singular); a meta tensor, which has
    # no values to solve with, only needs the shape of the solution
    weight = torch.linalg.lstsq(gram, right).solution if _validate.readable(gram) else right
    return LinearReadout(weight, mean_y - mean_f @ weight)


def r2_score(predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """``R² = 1 - Σ (y - ŷ)² / Σ (y - ȳ)²`` per target column: ``(T,)``.

    1 is a perfect read-out, 0 is no better than predicting the mean, below 0 is worse.
    """
    predictions, targets = _matrix(predictions, "predictions"), _matrix(targets, "targets")
    if predictions.shape != targets.shape:
        raise ValueError(
            f"predictions and targets must have the same shape, got {tuple(predictions.shape)} "
            f"and {tuple(targets.shape)}"
        )
    if predictions.device != targets.device:
        raise ValueError(f"predictions must be on the device of targets, {targets.device}, got "
                         f"{predictions.device}")
    residual = ((targets - predictions) ** 2).sum(dim=0)
    total = ((targets - targets.mean(dim=0)) ** 2).sum(dim=0)
    if _validate.readable(targets) and not bool((total > 0).all()):
        raise ValueError("targets must vary in every column (R² divides by their variance), got "
                         f"a constant column among {targets.shape[1]}, over {len(targets)} rows")
    return 1 - residual / total


@dataclass(frozen=True)
class PositionDecoding:
    """What ``decode_position`` found: ``r2`` per axis (row, column) on the held-out images,
    and the predicted ``rows`` and ``columns`` maps of the first held-out image."""

    r2: torch.Tensor
    rows: torch.Tensor
    columns: torch.Tensor

    def __post_init__(self) -> None:
        for name in ("r2", "rows", "columns"):
            value = getattr(self, name)
            if not isinstance(value, torch.Tensor) or not value.is_floating_point():
                raise TypeError(f"{name} must be a floating-point torch.Tensor, got "
                                f"{value!r:.60}")


def decode_position(
    train_features: torch.Tensor, test_features: torch.Tensor, *, ridge: float = 1e-3
) -> PositionDecoding:
    """Fit a linear read-out of (row, column) on ``train_features`` ``(N, C, H, W)`` and score
    it on ``test_features`` ``(M, C, H, W)`` (held-out images of the same size)."""
    train_features = _validate.image_tensor(train_features, "train_features", ranks=(4,))
    test_features = _validate.image_tensor(test_features, "test_features", ranks=(4,))
    if train_features.shape[1:] != test_features.shape[1:]:
        raise ValueError(
            f"train_features and test_features must have the same (C, H, W), got "
            f"{tuple(train_features.shape[1:])} and {tuple(test_features.shape[1:])}"
        )
    if train_features.device != test_features.device:
        raise ValueError(f"test_features must be on the device of train_features, "
                         f"{train_features.device}, got {test_features.device}")
    size = tuple(train_features.shape[-2:])
    if min(size) < 2:
        raise ValueError(f"train_features must have maps of at least 2 x 2 pixels (rows and "
                         f"columns to tell apart), got size {size}")
    device = train_features.device
    readout = fit_readout(pixel_features(train_features),
                          coordinate_targets(len(train_features), size).to(device), ridge)
    predicted = readout(pixel_features(test_features))
    r2 = r2_score(predicted, coordinate_targets(len(test_features), size).to(device))
    first = predicted[: size[0] * size[1]].reshape(*size, 2)
    return PositionDecoding(r2, first[..., 0], first[..., 1])


__all__ = [
    "LinearReadout",
    "PositionDecoding",
    "coordinate_targets",
    "decode_position",
    "fit_readout",
    "hypercolumns",
    "pixel_features",
    "r2_score",
]
