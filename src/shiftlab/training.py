"""Training and evaluating the small networks, reproducibly on a CPU.

``train`` is plain minibatch SGD with momentum on the cross-entropy; the order of the examples
comes from a seeded generator, so the same seed gives the same weights on the same machine.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from shiftlab import _validate


def _dataset(images: torch.Tensor, labels: torch.Tensor) -> None:
    _validate.image_tensor(images, "images", ranks=(4,))
    if not isinstance(labels, torch.Tensor) or labels.dtype != torch.long:
        raise TypeError(f"labels must be a tensor of dtype torch.long, got {labels!r:.60}")
    if labels.dim() not in (1, 3) or len(labels) != len(images):
        raise ValueError(
            f"labels must have shape ({len(images)},), one per image, or ({len(images)}, H', W'),"
            f" one per output pixel, got {tuple(labels.shape)}"
        )


def train(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    epochs: int,
    lr: float = 0.01,
    batch_size: int = 32,
    momentum: float = 0.9,
    seed: int = 0,
) -> list[float]:
    """Fit ``model`` to ``(images, labels)``; return the mean training loss of every epoch.

    images: ``(N, C, H, W)``; labels: ``(N,)`` class indices (``torch.long``) for a model that
    returns ``(N, K)`` logits, or ``(N, H', W')`` for one that returns a logit map
    ``(N, K, H', W')`` (the loss is then the mean over the pixels).
    """
    _dataset(images, labels)
    epochs = _validate.positive_int(epochs, "epochs")
    batch_size = _validate.positive_int(batch_size, "batch_size")
    lr = _validate.non_negative_float(lr, "lr")
    momentum = _validate.non_negative_float(momentum, "momentum")
    generator = torch.Generator().manual_seed(_validate.integer(seed, "seed"))
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    history = []
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(images), generator=generator)
        total = 0.0
        for start in range(0, len(images), batch_size):
            batch = order[start : start + batch_size]
            loss = F.cross_entropy(model(images[batch]), labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        history.append(total / len(images))
    model.eval()
    return history


@torch.no_grad()
def predict(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """The predicted class of each image, ``(N,)``, or of each output pixel, ``(N, H', W')``:
    the index of the largest logit."""
    _validate.image_tensor(images, "images", ranks=(4,))
    model.eval()
    return model(images).argmax(dim=1)


def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of images (or of output pixels, for per-pixel labels) classified correctly."""
    _dataset(images, labels)
    return (predict(model, images) == labels).double().mean().item()
