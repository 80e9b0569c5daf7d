"""Training and evaluating the small networks, reproducibly on a CPU: one run, or many at once.

Both trainers minimise the cross-entropy over minibatches with one of two optimisers, written
out rather than taken from ``torch.optim``. Measured (PyTorch 2.13, 2-core CPU): constructing the
first ``torch.optim`` optimiser of a process takes 1.0 s, because it imports PyTorch's compiler
(``torch._dynamo``); later steps cost the same as these few lines. Every kernel of every chapter
that trains would pay that second, in the book build and in nbval alike; tests/science/
test_training.py proves the two updates below equal to ``torch.optim.SGD`` and ``Adam``:

    SGD with momentum:  v ← μ v + g,   θ ← θ − η v
    Adam:               m ← β₁ m + (1 − β₁) g,   s ← β₂ s + (1 − β₂) g²,
                        θ ← θ − η m̂ / (√ŝ + 10⁻⁸),   m̂ = m / (1 − β₁ᵗ),  ŝ = s / (1 − β₂ᵗ)

with ``g = ∇L(θ)`` on the batch. The order of the examples comes from a generator seeded with
``seed`` (a new random order every epoch, or the data set's own order with ``shuffle=False``);
a batch that holds the whole data set is taken in the data set's order.

- ``train(model, ...)`` trains one model: the plain loop, the reference.
- ``train_runs(build, seeds, ...)`` trains ``K`` models at once, run ``k`` being
  ``train(build(seeds[k]), ..., seed=seeds[k])``. Their parameters are stacked along a new first
  axis and one vectorised forward pass (``torch.func.vmap``) computes all ``K`` models on their
  own batches, so a claim can be measured over fifty seeds in the time of a few runs.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from shiftlab import _validate

OPTIMIZERS = ("sgd", "adam")


MAX_EPOCHS = 100_000
"""The most epochs (or steps) a training call may ask for."""


def _dataset(images: torch.Tensor, labels: torch.Tensor) -> None:
    _validate.image_tensor(images, "images", ranks=(4,))
    if not isinstance(labels, torch.Tensor) or labels.dtype != torch.long:
        raise TypeError(f"labels must be a tensor of dtype torch.long, got {labels!r:.60}")
    if labels.device != images.device:
        raise ValueError(f"labels must be on the device of images, {images.device}, got "
                         f"{labels.device}")
    if labels.numel() and _validate.readable(labels) and int(labels.min()) < 0:
        raise ValueError(f"labels must be class indices >= 0, got {int(labels.min())}")
    if labels.dim() not in (1, 3) or len(labels) != len(images):
        raise ValueError(
            f"labels must have shape ({len(images)},), one per image, or ({len(images)}, H', W'),"
            f" one per output pixel, got {tuple(labels.shape)}"
        )


@dataclass(frozen=True)
class Recipe:
    """How to train: ``epochs`` passes over the data in batches of ``batch_size``."""

    epochs: int
    lr: float = 0.01
    batch_size: int = 32
    optimizer: str = "sgd"  # one of OPTIMIZERS
    momentum: float = 0.9  # of "sgd"
    betas: tuple[float, float] = (0.9, 0.999)  # of "adam"
    shuffle: bool = True  # a new random order every epoch; False: the data set's order

    def __post_init__(self) -> None:
        _validate.positive_int(self.epochs, "epochs", high=MAX_EPOCHS)
        _validate.positive_int(self.batch_size, "batch_size")
        _validate.non_negative_float(self.lr, "lr")
        _validate.one_of(self.optimizer, "optimizer", OPTIMIZERS)
        _validate.real(self.momentum, "momentum", low=0, high=1)
        if not isinstance(self.betas, tuple) or len(self.betas) != 2:
            raise TypeError(f"betas must be a pair of floats (β₁, β₂), got {self.betas!r}")
        for beta in self.betas:
            if not 0 <= _validate.non_negative_float(beta, "betas") < 1:
                raise ValueError(f"betas must lie in [0, 1), got {self.betas}")
        _validate.boolean(self.shuffle, "shuffle")

    def batches(self, n: int, generator: torch.Generator) -> Iterator[torch.Tensor]:
        """The indices of the batches of one epoch over ``n`` examples."""
        n = _validate.positive_int(n, "n", high=2**31 - 1)
        if not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
        return self._batches(n, generator)

    def _batches(self, n: int, generator: torch.Generator) -> Iterator[torch.Tensor]:
        if self.batch_size >= n:
            yield torch.arange(n)
            return
        order = torch.randperm(n, generator=generator) if self.shuffle else torch.arange(n)
        yield from order.split(self.batch_size)


class _Optimizer:
    """The update of ``Recipe.optimizer`` on a list of tensors, state kept between steps."""

    def __init__(self, params: list[torch.Tensor], recipe: Recipe) -> None:
        self.params, self.recipe, self.step = params, recipe, 0
        self.first = [torch.zeros_like(p) for p in params]
        self.second = [torch.zeros_like(p) for p in params] if recipe.optimizer == "adam" else []

    @torch.no_grad()
    def update(self, grads: Sequence[torch.Tensor]) -> None:
        recipe, self.step = self.recipe, self.step + 1
        if recipe.optimizer == "sgd":
            for p, v, g in zip(self.params, self.first, grads, strict=True):
                v.mul_(recipe.momentum).add_(g)
                p.add_(v, alpha=-recipe.lr)
            return
        beta1, beta2 = recipe.betas
        for p, m, s, g in zip(self.params, self.first, self.second, grads, strict=True):
            m.mul_(beta1).add_(g, alpha=1 - beta1)
            s.mul_(beta2).addcmul_(g, g, value=1 - beta2)
            m_hat, s_hat = m / (1 - beta1**self.step), s / (1 - beta2**self.step)
            p.sub_(recipe.lr * m_hat / (s_hat.sqrt() + 1e-8))


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
    optimizer: str = "sgd",
    betas: tuple[float, float] = (0.9, 0.999),
    shuffle: bool = True,
) -> list[float]:
    """Fit ``model`` to ``(images, labels)``; return the mean training loss of every epoch.

    images: ``(N, C, H, W)``; labels: ``(N,)`` class indices (``torch.long``) for a model that
    returns ``(N, K)`` logits, or ``(N, H', W')`` for one that returns a logit map
    ``(N, K, H', W')`` (the loss is then the mean over the pixels). Only the parameters with
    ``requires_grad`` are trained. Full-batch Adam for ``T`` steps is
    ``epochs=T, batch_size=N, optimizer="adam"``.
    """
    _validate.module(model, "model")
    _dataset(images, labels)
    _validate.network_input(images, model, "images")
    recipe = Recipe(epochs, lr, batch_size, optimizer, momentum, betas, shuffle)
    generator = torch.Generator().manual_seed(_validate.integer(seed, "seed"))
    params = [p for p in model.parameters() if p.requires_grad]
    update = _Optimizer(params, recipe)
    history = []
    model.train()
    for _ in range(recipe.epochs):
        total = 0.0
        for batch in recipe.batches(len(images), generator):
            loss = F.cross_entropy(model(images[batch]), labels[batch])
            update.update(torch.autograd.grad(loss, params))
            total += loss.item() * len(batch)
        history.append(total / len(images))
    model.eval()
    return history


@torch.no_grad()
def predict(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """The predicted class of each image, ``(N,)``, or of each output pixel, ``(N, H', W')``:
    the index of the largest logit."""
    _validate.function(model, "model")
    _validate.input_of(model, images, "images")
    if isinstance(model, nn.Module):
        model.eval()
    logits = model(images)
    if not isinstance(logits, torch.Tensor) or logits.dim() < 2 or len(logits) != len(images):
        raise ValueError(f"model must return logits (N, K, ...) for the {len(images)} images, "
                         f"got {logits!r:.60}")
    _validate.finite_values(logits, "model(images) (the logits)")
    return logits.argmax(dim=1)


def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of images (or of output pixels, for per-pixel labels) classified correctly."""
    _validate.function(model, "model")
    _dataset(images, labels)
    _validate.input_of(model, images, "images")
    _validate.values(images, "images")
    return (predict(model, images) == labels).double().mean().item()


@dataclass
class Runs:
    """``K`` models of one architecture trained at once; run ``k`` started from ``seeds[k]``.

    ``params[name]`` holds every run's parameter ``name`` stacked: ``(K, *shape)``;
    ``losses[e, k]`` is the mean training loss of run ``k`` in epoch ``e``; with
    ``history=True``, ``snapshots[e]`` holds the parameters after epoch ``e`` (``e = 0``: at
    initialisation, so ``snapshots[-1]`` is ``params``).
    """

    template: nn.Module = field(repr=False)
    seeds: tuple[int, ...]
    params: dict[str, torch.Tensor] = field(repr=False)
    losses: torch.Tensor = field(repr=False)
    snapshots: list[dict[str, torch.Tensor]] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        _validate.module(self.template, "template")
        if not isinstance(self.seeds, tuple) or not self.seeds:
            raise TypeError(f"seeds must be a non-empty tuple of ints, got {self.seeds!r}")
        for seed in self.seeds:
            _validate.integer(seed, "seeds[k]")
        if not isinstance(self.params, dict) or not all(
                isinstance(v, torch.Tensor) and v.dim() >= 1 and len(v) == len(self.seeds)
                for v in self.params.values()):
            raise TypeError(f"params must be a dict of tensors stacked over the "
                            f"{len(self.seeds)} runs (one per seed in seeds), got "
                            f"{type(self.params).__name__}")
        if not isinstance(self.losses, torch.Tensor) or self.losses.dim() != 2 or \
                self.losses.shape[1] != len(self.seeds):
            raise TypeError(f"losses must be a tensor (epochs, {len(self.seeds)}), one column "
                            f"per seed in seeds, got {self.losses!r:.60}")
        if self.snapshots is not None and not isinstance(self.snapshots, list):
            raise TypeError(f"snapshots must be a list of parameter dicts or None, got "
                            f"{type(self.snapshots).__name__}")

    def __len__(self) -> int:
        return len(self.seeds)

    def _params(self, epoch: int | None) -> dict[str, torch.Tensor]:
        if epoch is None:
            return self.params
        if self.snapshots is None:
            raise ValueError("epoch needs the snapshots: train with history=True")
        _validate.integer(epoch, "epoch")
        if not -len(self.snapshots) <= epoch < len(self.snapshots):
            raise ValueError(f"epoch must lie in 0 ... {len(self.snapshots) - 1}, got {epoch}")
        return self.snapshots[epoch]

    @torch.no_grad()
    def logits(self, images: torch.Tensor, *, epoch: int | None = None) -> torch.Tensor:
        """Every run's class scores on the same ``images``: ``(K, N, classes)``, or
        ``(K, N, classes, H', W')`` for a network that scores every pixel."""
        _validate.network_input(images, self.template, "images")
        self.template.eval()
        return vmap(lambda p: functional_call(self.template, p, (images,)))(
            self._params(epoch))

    def accuracy(self, images: torch.Tensor, labels: torch.Tensor, *,
                 epoch: int | None = None) -> torch.Tensor:
        """The fraction of ``images`` (or of their pixels, for per-pixel labels) each run
        classifies correctly: ``(K,)`` float64."""
        _dataset(images, labels)
        right = self.logits(images, epoch=epoch).argmax(2) == labels
        return right.double().flatten(1).mean(-1)

    def model(self, run: int, *, epoch: int | None = None) -> nn.Module:
        """A standalone copy of the network of run ``run`` (after ``epoch``; default: last)."""
        if not 0 <= _validate.integer(run, "run") < len(self):
            raise ValueError(f"run must lie in 0 ... {len(self) - 1}, got {run}")
        net = copy.deepcopy(self.template)
        params = self._params(epoch)
        with torch.no_grad():
            for name, p in net.named_parameters():
                p.copy_(params[name][run])
        return net.eval()


def train_runs(
    build: Callable[[int], nn.Module],
    seeds: Sequence[int],
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    epochs: int,
    lr: float = 0.01,
    batch_size: int = 32,
    momentum: float = 0.9,
    optimizer: str = "sgd",
    betas: tuple[float, float] = (0.9, 0.999),
    shuffle: bool = True,
    history: bool = False,
    augment: Callable[[torch.Tensor, int], torch.Tensor] | None = None,
) -> Runs:
    """Train ``build(s)`` for every seed ``s`` in ``seeds``, all at once; return the ``Runs``.

    Run ``k`` is ``train(build(seeds[k]), images, labels, ..., seed=seeds[k])``: the same
    initial weights, the same order of the examples, the same updates (up to the rounding of
    the vectorised sums; the tests check it). ``build(s)`` must return networks of one
    architecture; parameters without ``requires_grad`` stay as built. Each step evaluates all
    ``K`` networks on their own batches with one vectorised forward pass; summing their losses
    gives each run exactly its own gradient, because no parameter is shared between runs.

    ``augment(images, e)``, if given, returns the training images of epoch ``e = 0, 1, ...``
    (the same shape, the same labels): data augmentation drawn anew every epoch, the same for
    every run.
    """
    _validate.function(build, "build")
    if augment is not None:
        _validate.function(augment, "augment")
    if isinstance(seeds, str) or not isinstance(seeds, Sequence | range):
        raise ValueError(f"seeds must be a non-empty sequence of ints, got {seeds!r}")
    if not seeds:
        raise ValueError(f"seeds must be a non-empty sequence of ints, got {seeds!r}")
    if len(seeds) > 10_000:
        raise ValueError(f"seeds must hold at most 10000 seeds, got {len(seeds)}")
    seeds = tuple(_validate.integer(s, "seeds[k]") for s in seeds)
    _dataset(images, labels)
    recipe = Recipe(epochs, lr, batch_size, optimizer, momentum, betas, shuffle)
    _validate.boolean(history, "history")
    models = [build(s) for s in seeds]
    template = models[0]
    if not all(type(m) is type(template) for m in models) or not isinstance(template, nn.Module):
        raise TypeError("build must return torch.nn.Module networks of one architecture")
    _validate.network_input(images, template, "images")
    stacked, buffers = stack_module_state(models)
    if buffers:
        raise ValueError("build must return networks without buffers (no batch norm)")
    trainable = {name for name, p in template.named_parameters() if p.requires_grad}
    params = {name: p.detach().clone().requires_grad_(name in trainable)
              for name, p in stacked.items()}
    names = [name for name in params if name in trainable]
    update = _Optimizer([params[name] for name in names], recipe)
    generators = [torch.Generator().manual_seed(s) for s in seeds]
    snapshots = [_detached(params)] if history else None

    def forward(p: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        return functional_call(template, p, (x,))

    batched, shared = vmap(forward), vmap(forward, in_dims=(0, None))
    template.train()
    losses = []
    for epoch in range(recipe.epochs):
        data = images if augment is None else _augmented(augment, images, epoch)
        losses.append(_epoch(recipe, generators, data, labels, params, names, update,
                             batched, shared))
        if snapshots is not None:
            snapshots.append(_detached(params))
    template.eval()
    return Runs(template, seeds, _detached(params), torch.stack(losses), snapshots)


def _augmented(augment: Callable[[torch.Tensor, int], torch.Tensor], images: torch.Tensor,
               epoch: int) -> torch.Tensor:
    """``augment(images, epoch)``, checked: a tensor of the shape and dtype of ``images``."""
    data = augment(images, epoch)
    if not isinstance(data, torch.Tensor) or data.shape != images.shape or \
            data.dtype != images.dtype:
        raise ValueError(f"augment must return a tensor of the shape {tuple(images.shape)} and "
                         f"dtype {images.dtype} of images, got "
                         f"{getattr(data, 'shape', type(data).__name__)}")
    return _validate.finite_values(data, "augment(images, epoch)")


def _epoch(recipe: Recipe, generators: list[torch.Generator], images: torch.Tensor,
           labels: torch.Tensor, params: dict[str, torch.Tensor], names: list[str],
           update: _Optimizer, batched: Callable, shared: Callable) -> torch.Tensor:
    """One epoch of every run; returns each run's mean training loss, ``(K,)`` float64."""
    # batch j of every run: a (K, B) table of indices, row k from run k's generator
    orders = [list(recipe.batches(len(images), g)) for g in generators]
    total = torch.zeros(len(generators), dtype=torch.float64, device=images.device)
    for batch in (torch.stack(column) for column in zip(*orders, strict=True)):
        logits = _logits(batched, shared, params, images, batch)  # (K, B, classes)
        # per example (or per example and pixel, for per-pixel labels), then the mean per run
        loss = F.cross_entropy(logits.flatten(0, 1), labels[batch].flatten(0, 1),
                               reduction="none").reshape(*batch.shape, -1).mean(dim=(1, 2))
        update.update(torch.autograd.grad(loss.sum(), [params[n] for n in names]))
        total += loss.detach().double() * batch.shape[1]
    return total / len(images)


def _logits(batched: Callable, shared: Callable, params: dict[str, torch.Tensor],
            images: torch.Tensor, batch: torch.Tensor) -> torch.Tensor:
    """Run ``k``'s scores on its batch ``images[batch[k]]``: ``(K, B, classes)``.

    When the runs' batches hold few distinct examples (a fixed order, a full batch, or a tiny
    data set), every run is evaluated on all of them with the input shared between the runs,
    which makes the first convolution one ordinary convolution with ``K`` times the channels
    instead of ``K`` small ones; then each run's rows are picked out.
    """
    unique, inverse = torch.unique(batch, return_inverse=True)
    if len(unique) > 2 * batch.shape[1]:
        return batched(params, images[batch])
    logits = shared(params, images[unique])  # (K, U, classes, ...)
    return logits[torch.arange(len(batch))[:, None], inverse]


def _detached(params: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in params.items()}


def rate_interval(successes: int, runs: int, level: float = 0.95) -> tuple[float, float]:
    """The exact (Clopper–Pearson) interval for a success rate ``p`` seen as ``successes`` of
    ``runs`` independent runs: the ``p`` under which the count is not surprising at ``level``.

    The lower end solves ``P(X >= successes | p) = (1 - level) / 2`` and the upper end
    ``P(X <= successes | p) = (1 - level) / 2`` for ``X ~ Binomial(runs, p)``; 5 of 5 gives
    ``(0.478, 1)`` at 95 %: five successes do not rule out that half the runs fail.
    """
    runs = _validate.positive_int(runs, "runs", high=1000)
    successes = _validate.integer(successes, "successes")
    if not 0 <= successes <= runs:
        raise ValueError(f"successes must lie in 0 ... runs = {runs}, got {successes}")
    level = _validate.non_negative_float(level, "level")
    if not 0 < level < 1:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level}")
    tail = (1 - level) / 2

    def at_most(k: int, p: float) -> float:  # P(X <= k)
        return sum(math.comb(runs, j) * p**j * (1 - p) ** (runs - j) for j in range(k + 1))

    def solve(f: Callable[[float], float]) -> float:  # f increasing from < 0 to > 0 on [0, 1]
        low, high = 0.0, 1.0
        for _ in range(60):
            mid = (low + high) / 2
            low, high = (mid, high) if f(mid) < 0 else (low, mid)
        return (low + high) / 2

    lower = 0.0 if successes == 0 else solve(lambda p: (1 - at_most(successes - 1, p)) - tail)
    upper = 1.0 if successes == runs else solve(lambda p: tail - at_most(successes, p))
    return lower, upper
