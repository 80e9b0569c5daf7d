"""Fuzz every public callable of shiftlab with bad and edge arguments, one at a time.

The callables come from the package itself: every module under ``shiftlab`` (``pkgutil``), every
name without a leading underscore defined there, classes with their constructor and public
methods. Each gets ONE valid call, built from its signature and the example values below
(``EXAMPLES`` by parameter name, ``CALLS`` for a whole call); then one argument at a time is
replaced by a bad or edge value of its kind, and the outcome is classified:

- ``raised clean``: ``TypeError``/``ValueError`` whose message names the argument;
- ``returned correct``: an edge value the function may take (``0``, ``-1``, an int image, an
  image with NaN...) gave a result that is right: no NaN appeared from nowhere, a NaN was not
  swallowed, an int/complex/half image gave what the same values as floats give, a
  non-contiguous or requires-grad image gave exactly the valid call's result, a meta tensor gave
  meta tensors;
- anything else is a failure, by kind: ``accepted`` (a bad value returned), ``wrong``,
  ``silent nan``, ``nan swallowed``, ``device`` (a CPU tensor out of a meta input), ``raw
  <Error>`` (another exception), ``unnamed`` (the message does not name the argument),
  ``hang`` (past ``TIMEOUT_S``).

A NEW public function is fuzzed without anyone adding it, but it needs a valid example call:
if its parameter names are not in ``EXAMPLES``, add them there (a factory of a valid value), or
add the whole call to ``CALLS`` (``"module.name": lambda: {"param": value, ...}``).

``python tests/science/test_fuzz.py`` prints the counts (callables, calls, outcomes by kind).
Book tooling runs in a copy of the course in a temporary folder, with commands (subprocesses,
notebook kernels) replaced by a stand-in that stops there: nothing is built or executed.
"""

from __future__ import annotations

import collections
import contextlib
import copy
import dataclasses
import importlib
import inspect
import math
import os
import pkgutil
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import nbformat
import pytest
import torch
import torch._dynamo  # the optimizers import it on first use: imported here, not under a timer
from torch import nn

import shiftlab

matplotlib.use("Agg")

pytestmark = pytest.mark.fuzz

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 5.0
"""A call that runs longer than this hangs (a valid example call takes well under a second)."""


# ------------------------------------------------------------------ the valid examples

def _image(h: int = 8, w: int = 8, *, n: int = 2, c: int = 1, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, c, h, w, generator=torch.Generator().manual_seed(seed))


def _net():
    from shiftlab.models import ConvNet, ConvNetConfig
    return ConvNet(ConvNetConfig(channels=(2,), classes=2), seed=0)


def _stack_net():
    from shiftlab.models import ConvStack, StackConfig
    return ConvStack(StackConfig(channels=(2, 2)), seed=0)


def _labels(n: int = 8) -> torch.Tensor:
    return torch.arange(n) % 2


def _notebook() -> nbformat.NotebookNode:
    return nbformat.read(ROOT / "solutions" / "01_invariance_equivariance.ipynb", as_version=4)


def _stub(*args):
    raise NotImplementedError("Exercise: replace this line with your code")


class _App:
    """A stand-in for a Sphinx application: records what an extension registers."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        return lambda *args, **kwargs: self.calls.append((name, args, kwargs))


def _rook_runs():
    from shiftlab.rook import train_rook_runs
    return train_rook_runs("same", (0, 1), epochs=2)


def _sweep():
    from shiftlab.quadrant import border_sweep, photo_patches
    return border_sweep((0, 1), ("same",), train_patches=photo_patches(8), seeds=(0, 1), steps=2,
                        test_patches=photo_patches(8, split="test"))


def _runs():
    from shiftlab.training import train_runs
    return train_runs(lambda seed: _net(), (0, 1), _image(8, 8, n=8), _labels(8), epochs=1,
                      batch_size=4)


COURSE: Path | None = None
"""A copy of the course (book/, solutions/, lessons/, notebooks/, configs) the tooling works on."""


def _course() -> Path:
    assert COURSE is not None
    return COURSE


EXAMPLES: dict[str, Callable[[], Any]] = {
    # images and tensors
    "x": _image, "image": lambda: _image()[0, 0], "scene": lambda: _image(12, 12)[:1],
    "scenes": lambda: _image(12, 12, n=3), "images": lambda: _image(8, 8, n=4),
    "a": lambda: _image(), "b": lambda: _image(seed=1), "weight": lambda: _image(3, 3, n=1),
    "w": lambda: torch.randn(2, 1, 3, 3, generator=torch.Generator().manual_seed(1)),
    "values": lambda: torch.randn(16, generator=torch.Generator().manual_seed(2)),
    "magnitude": lambda: _image().abs(), "errors": lambda: _image().abs().flatten(),
    "error": lambda: _image(12, 12)[0, 0].abs(), "taps": lambda: torch.tensor([0.25, 0.5, 0.25]),
    "p": lambda: torch.randn(2, 4, 4, 4), "logits": lambda: _image(8, 8, n=2),
    "truth": lambda: (_image(8, 8, n=2) > 1).float(), "targets": lambda: torch.randn(32, 2),
    "features": lambda: torch.randn(32, 5, generator=torch.Generator().manual_seed(3)),
    "train_features": lambda: torch.randn(32, 5, generator=torch.Generator().manual_seed(3)),
    "test_features": lambda: torch.randn(16, 5, generator=torch.Generator().manual_seed(4)),
    "train_labels": lambda: _labels(32), "labels": lambda: _labels(4),
    "shifts": lambda: torch.tensor([[1, 2], [0, -1], [3, 3]]),
    "patch": lambda: torch.ones(3, 3), "fractions": lambda: torch.rand(3),
    "filters": lambda: torch.randn(4, 1, 5, 5), "order": lambda: None,
    "r2": lambda: torch.tensor([0.5, 0.5]), "rows": lambda: torch.ones(2),
    "columns": lambda: ["a", "b"], "bias": lambda: torch.zeros(2),
    # integers and sizes
    "size": lambda: 8, "s": lambda: 2, "n": lambda: 4, "k": lambda: 1, "factor": lambda: 2,
    "kernel_size": lambda: 3, "depth": lambda: 2, "margin": lambda: 2, "terms": lambda: 4,
    "seed": lambda: 0, "epochs": lambda: 1, "steps": lambda: 2, "hidden": lambda: 4,
    "copies": lambda: 1, "channels": lambda: 2, "count": lambda: 3, "points": lambda: 1,
    "dy": lambda: 1, "dx": lambda: 2, "border": lambda: 0, "total": lambda: 10,
    "successes": lambda: 3, "runs": lambda: 10, "height": lambda: 8, "width": lambda: 8,
    "out_channels": lambda: 2, "in_channels": lambda: 1, "reduction": lambda: 2,
    "classes": lambda: 2, "number": lambda: 1, "run": lambda: 0, "epoch": lambda: 0,
    "index": lambda: 0, "pairs": lambda: 2, "batch_size": lambda: 4, "jobs": lambda: 1,
    "trials": lambda: 3, "max_border": lambda: 2, "seeds_count": lambda: 2,
    # pairs
    "t": lambda: (1, 2), "at": lambda: (3, 4), "pixel": lambda: (0, 0), "corner": lambda: (0, 0),
    "sides": lambda: (4, 4), "marker": lambda: (1, 1),
    # floats
    "lr": lambda: 0.05, "momentum": lambda: 0.9, "noise": lambda: 0.3, "ridge": lambda: 1e-3,
    "tol": lambda: 1e-6, "level": lambda: 0.95, "tolerance": lambda: 1e-6, "limit": lambda: 1.0,
    "floor": lambda: 1e-9, "chance": lambda: 0.5, "vmax": lambda: 1.0, "vmin": lambda: -1.0,
    "test_seconds": lambda: 10.0, "unit_seconds": lambda: 3.0, "notebook_seconds": lambda: 4.0,
    "seconds": lambda: 1.0,
    # strings
    "padding": lambda: "circular", "kind": lambda: "circular", "direction": lambda: "vertical",
    "title": lambda: "A title", "name": lambda: "01_invariance_equivariance",
    "split": lambda: "train", "head": lambda: "flatten", "downsample": lambda: "stride",
    "global_pool": lambda: "avg", "optimizer": lambda: "sgd", "where": lambda: "cell",
    "fmt": lambda: "{:g}", "cmap": lambda: "gray", "label": lambda: "value", "url":
    lambda: "https://example.org/owner/course", "repository": lambda: "owner/course",
    "branch": lambda: "main", "doc": lambda: "book/01_invariance_equivariance", "anchor":
    lambda: "", "text": lambda: "Some *text*.", "template": lambda: "a {value} b",
    "first": lambda: "function", "xlabel": lambda: "shift", "g_name": lambda: "g",
    "desc": lambda: "", "unit": lambda: "it", "msg": lambda: None, "suffix": lambda: "",
    "formula": lambda: "f(x)", "why": lambda: "because", "description": lambda: "a network",
    "checks": lambda: "check_x", "claim": lambda: "a claim", "stage": lambda: "draft",
    "message": lambda: "a message", "markdown": lambda: "Some text.", "source": lambda:
    "x = 1\n# BEGIN SOLUTION\ny = 2\n# END SOLUTION\n", "code": lambda:
    "from shiftlab.exercises.invariance import check_circular_shift\n",
    "checker_module": lambda: "shiftlab.exercises.invariance",
    "checker_name": lambda: "check_circular_shift", "assignment": lambda: None,
    "training": lambda: "same", "fmt_": lambda: "{:g}",
    # booleans
    "batched": lambda: True, "zero_fill": lambda: False, "local_pool": lambda: False,
    "wrap": lambda: True, "signed": lambda: False, "shared": lambda: True, "shuffle": lambda: True,
    "history": lambda: False, "invariant": lambda: False, "force": lambda: False,
    "allow_errors": lambda: False, "record_timing": lambda: False, "disable": lambda: True,
    "always": lambda: True, "grade": lambda: False,
    # dtypes, functions, networks, configs
    "dtype": lambda: torch.float32,
    "f": lambda: _net(), "model": lambda: _net(), "net": lambda: _net(), "g": lambda: _shift(),
    "h": lambda: _shift(), "g_out": lambda: None, "feature": lambda: _net().features,
    "build": lambda: (lambda seed: _net()), "template_net": lambda: _net(),
    "config": lambda: shiftlab.ConvNetConfig(channels=(2,)), "fig": lambda: plt.figure(),
    "ax": lambda: plt.figure().add_subplot(), "generator": lambda: torch.Generator(),
    "update": lambda: (lambda value: None), "case": lambda: None,
    # collections
    "seeds": lambda: (0, 1), "borders": lambda: (0, 1), "paddings": lambda: ("same",),
    "widths": lambda: (2, 2), "kernel_sizes": lambda: [3, 3], "strides": lambda: [1, 2],
    "sizes": lambda: [4, 8], "steps_list": lambda: [1, 2], "names": lambda: None,
    "transforms": lambda: [_shift()], "functions": lambda: {"net": _net()},
    "filters_list": lambda: [torch.randn(3, 3)], "frames": lambda: [b"x", b"y"],
    "labels_text": lambda: ["a", "b"], "descriptions": lambda: None,
    # files and the course
    "root": _course, "path": lambda: _course() / "book" / "01_invariance_equivariance.ipynb",
    "destination": lambda: _course() / "_build" / "student",
    "out_dir": lambda: _course() / "_build" / "source", "argv": lambda: ["--help"],
    "html_root": lambda: _course() / "_build" / "html",
    "log": lambda: _course() / "_build" / "log.txt", "command": lambda: ["true"],
    "srcdir": _course, "docname": lambda: "book/01_invariance_equivariance",
    "notebook": _notebook, "solution": _notebook, "app": _App, "package": lambda: None,
    "key": lambda: None, "env": lambda: None, "timeout": lambda: 60, "configured": lambda: 2,
    "start": lambda: None, "shell": lambda: None, "iterable": lambda: range(3),
}


def _shift():
    return shiftlab.Shift(1, 2)


def _counts():
    return {"3x3": torch.tensor([1.0, 2.0, 3.0])}


CALLS: dict[str, Callable[[], dict[str, Any]]] = {
    # whole valid calls where the parameter names alone do not tell
    "shiftlab.antialias.binomial_aliasing": lambda: {"size": 3, "n": 32},
    "shiftlab.antialias.aliased_energy": lambda: {"x": _image(8, 8)},
    "shiftlab.boundary.influence_mask": lambda: {"f": _net().features, "x": _image(8, 8, n=1),
                                                 "at": (3, 4)},
    "shiftlab.boundary.camera_error_map": lambda: {
        "f": _net().features, "scene": _image(12, 12)[:1],
                                                   "t": (1, 1), "margin": 2},
    "shiftlab.consistency.crop_each": lambda: {"scenes": _image(12, 12, n=3),
                                               "shifts": torch.tensor([[1, 2], [0, -1], [2, 2]]),
                                               "margin": 2},
    "shiftlab.consistency.shift_each": lambda: {"x": _image(8, 8, n=3),
                                                "shifts": torch.tensor([[1, 2], [0, -1], [2, 2]])},
    "shiftlab.consistency.consistency": lambda: {"model": _net(), "images": _image(8, 8, n=4)},
    "shiftlab.consistency.consistency_table": lambda: {
        "variants": {"stride": _dsconfig()}, "train_set": (_image(8, 8, n=8), _labels(8)),
        "test_set": (_image(8, 8, n=4), _labels(4)), "scenes": _image(12, 12, n=2),
        "margin": 2, "epochs": 1, "seeds": (0,), "pairs": 2, "batch_size": 4},
    "shiftlab.convolution.rotation_average": lambda: {"weight": torch.randn(2, 1, 3, 3)},
    "shiftlab.convolution.fft_conv2d": lambda: {
        "x": _image(8, 8), "weight": torch.randn(1, 1, 3, 3)},
    "shiftlab.convolution.fft_equivariance_bound": lambda: {"x": _image(8, 8),
                                                            "weight": torch.randn(1, 1, 3, 3)},
    "shiftlab.layers.conv2d": lambda: {"x": _image(), "weight": torch.randn(2, 1, 3, 3)},
    "shiftlab.layers.image_and_filter": lambda: {"x": _image(), "weight": torch.randn(2, 1, 3, 3)},
    "shiftlab.layers.pad": lambda: {"x": _image(), "kernel_size": (3, 3), "padding": "same"},
    "shiftlab.local_max.train_detector": lambda: {
        "net": _local_max_net(), "images": _image(8, 8, n=2),
                                                  "targets": _image(8, 8, n=2) > 1,
                                                  "steps": 2},
    "shiftlab.local_max.detector_scores": lambda: {"logits": _image(8, 8, n=2),
                                                   "truth": _image(8, 8, n=2) > 1},
    "shiftlab.local_max.centred_windows": lambda: {"n": 4},
    "shiftlab.local_max.WindowNet": lambda: {"channels": (4, 2)},
    "shiftlab.local_max.WindowNet.features": lambda: {"x": _image(3, 3)},
    "shiftlab.local_max.WindowNet.forward": lambda: {"x": _image(3, 3)},
    "shiftlab.metrics.rounding_bound": lambda: {"magnitude": _image().abs(), "terms": 9},
    "shiftlab.metrics.magnitude_network": lambda: {"net": _net()},
    "shiftlab.metrics.equivariance_bound_map": lambda: {"magnitude": _magnitude(), "x": _image(),
                                                        "g": _shift(), "terms": 9},
    "shiftlab.metrics.equivariance_bound": lambda: {"f": _net(), "magnitude": _magnitude(),
                                                    "x": _image(), "g": _shift(), "terms": 9},
    "shiftlab.metrics.equivariance_error": lambda: {
        "f": _net().features, "x": _image(), "g": _shift()},
    "shiftlab.metrics.symmetry_table": lambda: {"functions": {"net": _net()}, "x": _image(),
                                                "transforms": [_shift()]},
    "shiftlab.metrics.prediction_agreement": lambda: {"f": _net(), "x": _image(), "g": _shift(),
                                                      "h": shiftlab.Shift(2, 1)},
    "shiftlab.models.ConvNetConfig": lambda: {"channels": (2,)},
    "shiftlab.models.ConvStack": lambda: {"config": _stack_config()},
    "shiftlab.models.ConvStack.features": lambda: {"x": _image()},
    "shiftlab.models.ConvStack.forward": lambda: {"x": _image()},
    "shiftlab.models.initial_layers": lambda: {"widths": (1, 2), "kernel_size": 3, "classes": 2,
                                               "seed": 0},
    "shiftlab.models.SqueezeExcitation": lambda: {"channels": 2},
    "shiftlab.models.SqueezeExcitation.forward": lambda: {"x": _image(c=2)},
    "shiftlab.pooling.changes_by_shift": lambda: {"model": _net(), "images": _image(8, 8, n=2),
                                                  "size": 2},
    "shiftlab.pooling.row_survival_probability": lambda: {"n": 4, "terms": 50},
    "shiftlab.position.hypercolumns": lambda: {"net": _net(), "x": _image()},
    "shiftlab.position.pixel_features": lambda: {"features": _image(c=3)},
    "shiftlab.position.coordinate_targets": lambda: {"n": 2, "size": 4},
    "shiftlab.position.LinearReadout": lambda: {
        "weight": torch.randn(5, 2), "bias": torch.zeros(2)},
    "shiftlab.position.r2_score": lambda: {"predictions": torch.randn(32, 2),
                                           "targets": torch.randn(32, 2)},
    "shiftlab.position.PositionDecoding": lambda: {"r2": torch.tensor([0.5, 0.4]),
                                                   "rows": torch.tensor(0.5),
                                                   "columns": torch.tensor(0.4)},
    "shiftlab.position.decode_position": lambda: {"train_features": _image(4, 4, n=3, c=3),
                                                  "test_features": _image(4, 4, n=2, c=3, seed=1)},
    "shiftlab.quadrant.photo_patches": lambda: {"n": 4},
    "shiftlab.quadrant.quadrant_images": lambda: {"patches": _patches()},
    "shiftlab.quadrant.linear_readout": lambda: {"train_features": torch.randn(32, 5),
                                                 "train_labels": _labels(32),
                                                 "test_features": torch.randn(8, 5)},
    "shiftlab.quadrant.BorderSweep": lambda: _sweep_fields(),
    "shiftlab.quadrant.BorderSweep.mean": lambda: {"training": "from scratch",
                                                    "padding": "same"},
    "shiftlab.quadrant.BorderSweep.spread": lambda: {"training": "from scratch",
                                                      "padding": "same"},
    "shiftlab.metrics.sequential_sum": lambda: {"values": torch.randn(3, 16)},
    "shiftlab.restoring.aps_output_shift": lambda: {"x": _image()[0, 0], "t": (1, 2)},
    "shiftlab.stride.output_shift": lambda: {"t": (2, 4), "s": 2},
    "shiftlab.transforms.align_peak_to_even": lambda: {"x": _image()[0, 0]},
    "shiftlab.quadrant.border_sweep": lambda: {"borders": (0, 1), "paddings": ("same",),
                                               "train_patches": _patches(), "seeds": (0,),
                                               "test_patches": _patches(), "steps": 2},
    "shiftlab.quadrant.multiply_adds": lambda: {"config": _rook_config(), "size": 12},
    "shiftlab.restoring.DownsamplingConfig": lambda: {"channels": (2,)},
    "shiftlab.restoring.DownsamplingNet": lambda: {"config": _dsconfig()},
    "shiftlab.restoring.DownsamplingNet.downsample": lambda: {"x": _image()},
    "shiftlab.restoring.DownsamplingNet.features": lambda: {"x": _image()},
    "shiftlab.restoring.median_split": lambda: {"model": _dsnet(), "images": _image(8, 8, n=4)},
    "shiftlab.rook.place": lambda: {"patch": torch.ones(3, 3), "size": 8, "corner": (0, 0)},
    "shiftlab.rook.corner_pair": lambda: {"patch": torch.ones(3, 3), "size": 8},
    "shiftlab.rook.pooled_features": lambda: {"weight": torch.randn(2, 1, 5, 5),
                                              "images": _image(8, 8, n=2), "padding": "same"},
    "shiftlab.rook.RookNetConfig": lambda: {},
    "shiftlab.rook.RookNet": lambda: {"config": _rook_config()},
    "shiftlab.rook.RookNet.features": lambda: {"x": _image(8, 8)},
    "shiftlab.rook.RookNet.pooled": lambda: {"x": _image(8, 8)},
    "shiftlab.rook.RookNet.forward": lambda: {"x": _image(8, 8)},
    "shiftlab.rook.RookRuns": lambda: _fields(_rook_runs()),
    "shiftlab.rook.RookRuns.net": lambda: {"run": 0},
    "shiftlab.rook.train_rook_runs": lambda: {"padding": "same", "seeds": (0, 1), "epochs": 2},
    "shiftlab.rook.train_rook_experiment": lambda: {"paddings": ("same",), "seeds": (0,),
                                                    "orders": ("fixed",), "epochs": 2},
    "shiftlab.stride.shifted_copy_error": lambda: {
        "f": _net().features, "x": _image(), "t": (2, 2)},
    "shiftlab.stride.shifted_copy_bound": lambda: {"f": _double, "magnitude": _double_magnitude,
                                                   "x": _image(), "t": (2, 2), "terms": 9},
    "shiftlab.stride.best_output_shift": lambda: {"f": lambda z: z[::2, ::2], "x": _image()[0, 0],
                                                   "t": (2, 2)},
    "shiftlab.stride.phase_after_shift": lambda: {"a": (0, 1), "t": (1, 2), "s": 2},
    "shiftlab.stride.merge_polyphase": lambda: {"p": torch.randn(2, 2, 4, 4)},
    "shiftlab.training.Recipe": lambda: {"epochs": 1},
    "shiftlab.training.Recipe.batches": lambda: {"n": 10, "generator": torch.Generator()},
    "shiftlab.training.train": lambda: {"model": _net(), "images": _image(8, 8, n=8),
                                        "labels": _labels(8), "epochs": 1, "batch_size": 4},
    "shiftlab.training.predict": lambda: {"model": _net(), "images": _image(8, 8, n=4)},
    "shiftlab.training.accuracy": lambda: {"model": _net(), "images": _image(8, 8, n=4),
                                           "labels": _labels(4)},
    "shiftlab.training.Runs": lambda: _fields(_runs()),
    "shiftlab.training.Runs.logits": lambda: {"images": _image(8, 8, n=4)},
    "shiftlab.training.Runs.accuracy": lambda: {"images": _image(8, 8, n=4), "labels": _labels(4)},
    "shiftlab.training.Runs.model": lambda: {"run": 0},
    "shiftlab.training.train_runs": lambda: {"build": lambda seed: _net(), "seeds": (0, 1),
                                             "images": _image(8, 8, n=8), "labels": _labels(8),
                                             "epochs": 1, "batch_size": 4},
    "shiftlab.transforms.CropShift": lambda: {"dy": 1, "dx": 2, "margin": 2},
    "shiftlab.transforms.crop_shift": lambda: {"x": _image(), "t": (1, 2), "margin": 2},
    "shiftlab.transforms.center_crop": lambda: {"x": _image(), "margin": 2},
    # figures
    "shiftlab.figures.alt_text.alt_text": lambda: {"fig": _titled_figure()},
    "shiftlab.figures.boundary.number_grids": lambda: {"grids": {"a": torch.ones(3, 3)}},
    "shiftlab.figures.boundary.map_grid": lambda: {"rows": {"r": [torch.ones(3, 3)]},
                                                   "columns": ["c"]},
    "shiftlab.figures.boundary.band_heatmaps": lambda: {"rows": {"r": [torch.ones(3, 3)]},
                                                        "columns": ["c"]},
    "shiftlab.figures.boundary.band_explorer": lambda: {
        "maps_at": lambda v: [torch.ones(3, 3) * v], "values": [1, 2], "titles": ["m"],
        "band_at": lambda v: 1, "title_at": lambda v: f"v={v}"},
    "shiftlab.figures.convolution.equivariance_row": lambda: {"x": _image()[0, 0], "f": _shift(),
                                                              "g": shiftlab.Shift(1, 1)},
    "shiftlab.figures.convolution.error_curves": lambda: {"steps": [1, 2],
                                                          "curves": {"a": [0.1, 0.2]},
                                                          "xlabel": "step"},
    "shiftlab.figures.convolution.moving_maps_explorer": lambda: {
        "maps_at": lambda v: [torch.ones(3, 3) * v], "values": [1, 2], "titles": ["m"]},
    "shiftlab.figures.invariance.error_bars": lambda: {"errors": {"f": {"shift": 0.1}},
                                                       "tolerance": 1e-6},
    "shiftlab.figures.invariance.image_row_explorer": lambda: {
        "images_at": lambda v: [torch.ones(3, 3) * v], "titles": ["m"], "first": 1},
    "shiftlab.figures.invariance.shift_explorer": lambda: {"x": _image()[0, 0],
                                                           "feature": lambda z: z * 2,
                                                           "shifts": [(0, 0), (1, 1)]},
    "shiftlab.figures.panels.image_panel": lambda: {"ax": plt.figure().add_subplot(),
                                                    "image": torch.ones(3, 3)},
    "shiftlab.figures.panels.show_images": lambda: {"images": [torch.ones(3, 3)]},
    "shiftlab.figures.panels.markdown_table": lambda: {"rows": {"f": {"shift": 0.5}}},
    "shiftlab.figures.pooling.shift_map_panel": lambda: {"ax": plt.figure().add_subplot(),
                                                         "values": torch.rand(2, 2)},
    "shiftlab.figures.pooling.survival_explorer": lambda: {"x": _image()[0, 0],
                                                           "shifts": [(0, 0), (1, 1)],
                                                           "fractions": torch.rand(8, 8)},
    "shiftlab.figures.pooling.survivor_histogram": lambda: {"counts": _counts(), "total": 4,
                                                            "expected": {"3x3": 2.0}},
    "shiftlab.figures.pooling.shift_maps": lambda: {"maps": {"a": torch.rand(2, 2)}},
    "shiftlab.figures.restoring.gain_curves": lambda: {
        "curves": {"a": (torch.linspace(0, 0.5, 5), torch.rand(5))}},
    "shiftlab.figures.restoring.downsampling_explorer": lambda: {
        "x": _image()[0, 0], "downsamplers": {"stride": lambda z: z[..., ::2, ::2]},
        "shifts": [(0, 0), (1, 1)]},
    "shiftlab.figures.restoring.consistency_bars": lambda: {
        "rows": {"a": {"c": torch.tensor([0.5, 0.6])}}, "columns": ["c"]},
    "shiftlab.figures.restoring.aliasing_figure": lambda: {"sizes": [1, 3],
                                                           "measured": {"m": [0.5, 0.2]}},
    "shiftlab.figures.rook.rook_training_explorer": lambda: {"runs": _rook_runs(),
                                                             "images": shiftlab_rook_images(),
                                                             "epochs": [0, 1]},
    "shiftlab.figures.rook.outcomes_figure": lambda: {"runs": {"same": _rook_runs()}},
    "shiftlab.figures.rook.border_sweep_figure": lambda: {"sweep": _sweep()},
    "shiftlab.figures.rook.paper_quadrant_figure": lambda: {
        "results": {"same": {"a": [0.5, 0.6]}}, "borders": [0, 1]},
    "shiftlab.figures.rook.paper_table": lambda: {"rows": {"a": [0.5, 0.6]}, "borders": [0, 1]},
    "shiftlab.figures.sliders.Slider": lambda: {"frames": [b"x", b"y"], "labels": ["a", "b"],
                                                "label": "v"},
    "shiftlab.figures.sliders.slider": lambda: {"fig": _titled_figure(),
                                                "update": lambda v: None, "values": [1, 2]},
    "shiftlab.figures.stride.stride_explorer": lambda: {
        "x": _image()[0, 0], "f": lambda z: z[..., ::2, ::2], "shifts": [(0, 0), (1, 1)],
        "curves": {"a": [0.1, 0.2]}},
    # exercises: helpers that are not checkers
    "shiftlab.exercises.boundary.measured_receptive_field": lambda: {"kernel_sizes": [3, 3],
                                                                      "strides": [1, 2]},
    "shiftlab.exercises.boundary.corner_pixel": lambda: {"corner": "top left"},
    "shiftlab.exercises.boundary.measured_seeing_taps": lambda: {"padding": "same",
                                                                 "corner": "top left"},
    "shiftlab.exercises.boundary.band_error_maps": lambda: {"depths": range(1, 3)},
    "shiftlab.exercises.convolution.Layer": lambda: {"formula": "f", "f": lambda z: z,
                                                     "why": "w"},
    "shiftlab.exercises.convolution.measure_layer": lambda: {"f": lambda z: z * 2},
    "shiftlab.exercises.convolution.layer_verdict": lambda: {"error": 0.5},
    "shiftlab.exercises.convolution.zero_padded_stack": lambda: {"filters": [torch.randn(3, 3)]},
    "shiftlab.exercises.convolution.measured_error_mask": lambda: {"size": 8, "k": 3, "depth": 1,
                                                                   "t": (1, 1)},
    "shiftlab.exercises.convolution.lifting_conv": lambda: {"x": _image()[0, 0],
                                                            "w": torch.randn(3, 3)},
    "shiftlab.exercises.invariance.Mystery": lambda: {"formula": "f", "f": lambda z: z,
                                                      "why": "w"},
    "shiftlab.exercises.invariance.measure_mystery": lambda: {"f": lambda z: z * 2},
    "shiftlab.exercises.invariance.classify": lambda: {"errors": {"invariance error": 0.5,
                                                                  "equivariance error": 0.0}},
    "shiftlab.exercises.invariance.stripes": lambda: {"n": 2, "size": 8, "vertical": True,
                                                      "generator": torch.Generator()},
    "shiftlab.exercises.pooling.calibrated_classifier": lambda: {"config": _pool_config()},
    "shiftlab.exercises.pooling.unchanged_shifts": lambda: {"config": _pool_config()},
    "shiftlab.exercises.pooling.measured_period": lambda: {"config": _pool_config()},
    "shiftlab.exercises.pooling.describe": lambda: {"config": _pool_config()},
    "shiftlab.exercises.restoring.Untrained": lambda: {"description": "d", "build": _net,
                                                       "always": True, "why": "w"},
    "shiftlab.exercises.restoring.measured_untrained": lambda: {"n": 8, "pairs": 2},
    "shiftlab.exercises.restoring.measured_exact_copies": lambda: {"n": 4},
    "shiftlab.exercises.rook.equal_pool_fraction": lambda: {"filters": torch.randn(4, 5, 5),
                                                            "padding": "same"},
    "shiftlab.exercises.rook.BorderNetwork": lambda: {"description": "d",
                                                      "config": _rook_config()},
    "shiftlab.exercises.rook.invisible_border": lambda: {"config": _rook_config(), "seeds": 1,
                                                         "max_border": 2},
    "shiftlab.exercises.stride.CopyCase": lambda: {"description": "d", "f": lambda z: z,
                                                   "t": (1, 1), "why": "w"},
    "shiftlab.exercises.stride.measure_copy_fraction": lambda: {"case": _copy_case(), "n": 4},
    "shiftlab.exercises.stride.Network": lambda: {"description": "d", "build": lambda s: _net(),
                                                  "steps": (1, 1), "why": "w"},
    "shiftlab.exercises.stride.measured_steps": lambda: {"f": lambda z: z[..., ::2, ::2],
                                                         "size": 8},
    # book tooling
    "shiftlab.book.glue": lambda: {"name": "value", "value": 3},
    "shiftlab.book.format_glued": lambda: {"text": "0.5", "fmt": ".1f"},
    "shiftlab.book.pasted": lambda: {"template": "a b"},
    "shiftlab.book.paste": lambda: {"template": "a b"},
    "shiftlab.book.authoring.lesson_from_solution": lambda: {"solution": _notebook(),
                                                             "name": "01_invariance_equivariance"},
    "shiftlab.book.authoring.generate_lessons": lambda: {"root": _course(),
                                                         "names": ["01_invariance_equivariance"]},
    "shiftlab.book.authoring.stale_lessons": lambda: {"root": _course(),
                                                      "names": ["01_invariance_equivariance"]},
    "shiftlab.book.authoring.main": lambda: {"argv": ["lessons", "--check"]},
    "shiftlab.book.authoring.stub_solutions": lambda: {"source": (
        "def f():\n    # BEGIN SOLUTION\n    return 2\n    # END SOLUTION\n")},
    "shiftlab.book.edition.book_url": lambda: {"repository": "https://github.com/o/c"},
    "shiftlab.book.publish.main": lambda: {"argv": ["--root", str(_course()), "repository",
                                                    "--check"]},
    "shiftlab.book.grading.main": lambda: {"argv": [
        "source", str(_course() / "_build" / "nbgrader"), "01_invariance_equivariance",
        "--root", str(_course())]},
    "shiftlab.book.bench.page_sizes": lambda: {"html_root": _course() / "_build" / "html"},
    "shiftlab.book.bench.timed_command": lambda: {"command": ["true"], "root": _course(),
                                                  "log": _course() / "_build" / "log.txt"},
    "shiftlab.book.bench.main": lambda: {"argv": ["--only-pages", "--root", str(_course())]},
    "shiftlab.book.course.Chapter": lambda: {"number": 1, "name": "n", "title": "t",
                                             "claim": "c", "stage": "draft"},
    "shiftlab.book.course.Exercise": lambda: {"number": "1.1", "title": "t", "checks": "c"},
    "shiftlab.book.course.lesson_exercises": lambda: {
        "path": _course() / "lessons" / "01_invariance_equivariance.ipynb"},
    "shiftlab.book.course.exercise_minutes": lambda: {"count": 3},
    "shiftlab.book.course.course_map": lambda: {"root": _course()},
    "shiftlab.book.edition.Target": lambda: {"doc": "book/intro"},
    "shiftlab.book.edition.Book": lambda: {"url": "https://example.org/", "repository": "o/c",
                                           "branch": "main"},
    "shiftlab.book.edition.Book.page": lambda: {"doc": "book/intro"},
    "shiftlab.book.edition.Book.file": lambda: {"path": "book/intro.ipynb"},
    "shiftlab.book.edition.read_book": lambda: {"root": _course()},
    "shiftlab.book.edition.Page": lambda: {"book": _book(), "doc": "book/intro", "where": "cell"},
    "shiftlab.book.edition.Page.footnote": lambda: {"name": "a"},
    "shiftlab.book.edition.Page.fail": lambda: {"message": "m"},
    "shiftlab.book.edition.Page.resolve": lambda: {"target": "book/intro"},
    "shiftlab.book.edition.convert_markdown": lambda: {"page": _page(), "text": "Some *text*."},
    "shiftlab.book.edition.myst_leftovers": lambda: {"text": "Some *text*."},
    "shiftlab.book.edition.paste_cell": lambda: {"markdown": "Some text.", "where": "cell"},
    "shiftlab.book.edition.plain_cells": lambda: {"page": _page(), "source": "Some *text*."},
    "shiftlab.book.edition.plain_notebook": lambda: {"notebook": _notebook(),
                                                     "book": _read_book(),
                                                     "doc": "solutions/01_invariance_equivariance",
                                                     "where": "cell"},
    "shiftlab.book.edition.edition_path": lambda: {
        "root": _course(), "source": _course() / "book" / "01_invariance_equivariance.ipynb"},
    "shiftlab.book.edition.generate_edition": lambda: {"root": _course(),
                                                       "text": _notebook_text()},
    "shiftlab.book.execution.code_key": lambda: {},
    "shiftlab.book.execution.use_cache": lambda: {"path": _course() / "_build" / "cache"},
    "shiftlab.book.execution.clear_cache": lambda: {"cache": _cache()},
    "shiftlab.book.execution.Execution": lambda: {"path": Path("a.ipynb"),
                                                  "notebook": _notebook(), "seconds": 1.0},
    "shiftlab.book.execution.execute_notebooks": lambda: {
        "paths": [_course() / "book" / "01_invariance_equivariance.ipynb"]},
    "shiftlab.book.execution.execute_missing": lambda: {
        "cache": _cache(), "paths": [_course() / "book" / "01_invariance_equivariance.ipynb"],
        "log": lambda *a: None},
    "shiftlab.book.grading.GradedExercise": lambda: {"number": "1.1", "title": "t", "points": 1},
    "shiftlab.book.grading.grade_id": lambda: {"number": "1.1"},
    "shiftlab.book.grading.source_notebook": lambda: {"solution": _notebook(),
                                                      "name": "01_invariance_equivariance"},
    "shiftlab.book.grading.source_course": lambda: {"root": _course(),
                                                    "names": ["01_invariance_equivariance"]},
    "shiftlab.book.grading.write_source_course": lambda: {
        "root": _course(), "out_dir": _course() / "_build" / "source",
        "names": ["01_invariance_equivariance"], "force": True},
    "shiftlab.book.pages.edition_of": lambda: {"srcdir": _course(),
                                               "docname": "book/01_invariance_equivariance"},
    "shiftlab.book.pages.executed_notebook": lambda: {
        "srcdir": _course(), "source": _course() / "book" / "01_invariance_equivariance.ipynb"},
    "shiftlab.book.progress.NotebookProgress": lambda: {"iterable": range(3), "disable": True},
    "shiftlab.book.progress.progress": lambda: {"iterable": range(3), "disable": True},
    "shiftlab.book.publish.colab_cell": lambda: {"url": "https://example.org/o/c"},
    "shiftlab.book.publish.set_repository": lambda: {"root": _course(),
                                                     "url": "https://github.com/o/c"},
    # chapter 8: between the pixels
    "shiftlab.subpixel.FourierShift": lambda: {"t_y": 0.5, "t_x": -0.25},
    "shiftlab.subpixel.fourier_shift": lambda: {"x": _image(), "t": (0.5, -0.25)},
    "shiftlab.subpixel.resample": lambda: {"x": _image(), "size": (12, 6)},
    "shiftlab.subpixel.resample_matrix": lambda: {"n": 8, "n_new": 12},
    "shiftlab.subpixel.error_curve": lambda: {"f": torch.relu, "x": _image(n=1),
                                              "ts": [0.25, 0.5]},
    "shiftlab.subpixel.subpixel_error": lambda: {"f": torch.relu, "x": _image(),
                                                 "t": (0.5, 0.25)},
    "shiftlab.subpixel.eq_t_db": lambda: {"f": torch.relu, "x": _image(), "t": (0.5, 0.25)},
    "shiftlab.subpixel.real_offset": lambda: {"t": (0.5, 1)},
    "shiftlab.subpixel_net.flip_rates": lambda: {"model": _alias_free_net(),
                                                 "images": _image(8, 8, n=2),
                                                 "taus": [0.25, 0.5]},
    "shiftlab.figures.subpixel.error_curves": lambda: {"ts": [0.0, 0.5],
                                                       "curves": {"a": torch.rand(2)}},
    "shiftlab.figures.subpixel.flip_curves": lambda: {"taus": [0.0, 0.5],
                                                      "rates": {"a": torch.rand(2, 2)}},
    "shiftlab.figures.subpixel.spectra": lambda: {"maps": {"a": torch.rand(8, 8)}},
    "shiftlab.figures.subpixel.subpixel_explorer": lambda: {"x": _image(n=1),
                                                            "f": torch.relu, "ts": [0.0, 0.5]},
    # chapter 9: invariance learned from data
    "shiftlab.data.digits_on_canvas": lambda: {"size": 12},
    "shiftlab.augmentation.moved": lambda: {"images": _image(8, 8, n=2), "max_shift": 1},
    "shiftlab.augmentation.displace_part": lambda: {"images": _image(8, 8, n=2), "t": 1},
    "shiftlab.augmentation.flip_rates": lambda: {"model": _net(), "images": _image(8, 8, n=2),
                                                 "shifts": [(0, 0), (1, 2)]},
    "shiftlab.augmentation.accuracy_by_shift": lambda: {
        "model": _net(), "images": _image(8, 8, n=2), "labels": _labels(2),
        "shifts": [(0, 0), (1, 2)]},
    "shiftlab.augmentation.part_sensitivity": lambda: {"net": _dsnet(),
                                                       "images": _image(8, 8, n=2),
                                                       "changed": _image(8, 8, n=2, seed=1)},
    "shiftlab.augmentation.train_variants": lambda: {
        "variants": {"stride": _dsconfig()}, "train_set": (_image(8, 8, n=4), _labels(4)),
        "seeds": (0,), "epochs": 1, "batch_size": 4},
    "shiftlab.augmentation.table_row": lambda: {"runs": _runs(),
                                                "test_set": (_image(8, 8, n=4), _labels(4)),
                                                "margin": 2},
    "shiftlab.figures.augmentation.accuracy_curves": lambda: {
        "accuracies": {"a": torch.rand(2, 3)}, "steps": [0, 1, 2], "title": "A title"},
    "shiftlab.figures.augmentation.flip_curves": lambda: {
        "rates": {"a": torch.rand(2, 3)}, "steps": [0, 1, 2], "period": 2, "title": "A title"},
    "shiftlab.figures.augmentation.prediction_explorer": lambda: {
        "images": _image(8, 8, n=2), "labels": _labels(2), "predictors": {"net": _classes},
        "shifts": [(0, 0), (1, 1)], "title": "A title"},
    "shiftlab.exercises.augmentation.measured_changes": lambda: {"n": 4, "networks": 1},
    "shiftlab.augmentation.DenseHeadConfig": lambda: {"size": 8, "channels": (2, 2)},
    "shiftlab.augmentation.DenseHeadNet": lambda: {"config": _dense_config()},
    "shiftlab.augmentation.DenseHeadNet.forward": lambda: {"x": _image(8, 8, n=2)},
    "shiftlab.augmentation.predictions_by_shift": lambda: {
        "model": _net(), "images": _image(8, 8, n=2), "shifts": [(0, 0), (1, 2)]},
    "shiftlab.augmentation.changed_fraction": lambda: {
        "predictions": torch.tensor([[0, 1, 2], [0, 1, 1]])},
    "shiftlab.augmentation.accuracy_of": lambda: {
        "predictions": torch.tensor([[0, 1], [1, 1]]), "labels": torch.tensor([0, 1])},
    "shiftlab.augmentation.gradient_gap": lambda: {
        "net": _net(), "images": _image(8, 8, n=2), "labels": _labels(2),
        "changed": _image(8, 8, n=2, seed=1)},
    "shiftlab.figures.augmentation.learning_curves": lambda: {
        "panels": {"centred": {"a": torch.rand(2, 3)}}, "title": "A title"},
    # chapter 10: equivariant dense prediction
    "shiftlab.segmentation.glyph_segmentation": lambda: {"n": 2, "size": 12},
    "shiftlab.segmentation.upsample": lambda: {"y": _image(4, 4), "phase": (1, 0)},
    "shiftlab.segmentation.SegmentationNet.forward": lambda: {"x": _image(12, 12)},
    "shiftlab.segmentation.SegmentationNet.phases": lambda: {"x": _image(12, 12)},
    "shiftlab.segmentation.SegmentationNet.margins": lambda: {"x": _image(12, 12)},
    "shiftlab.segmentation.aps_margins": lambda: {"net": _seg_net("aps"), "x": _image(12, 12)},
    "shiftlab.segmentation.shift_errors": lambda: {"net": _seg_net(), "x": _image(12, 12),
                                                   "shifts": [(0, 0), (1, 2)]},
    "shiftlab.segmentation.shift_bounds": lambda: {"net": _seg_net(), "x": _image(12, 12),
                                                   "shifts": [(0, 0), (1, 2)]},
    "shiftlab.segmentation.mask_changes": lambda: {"net": _seg_net(), "x": _image(12, 12),
                                                   "t": (1, 2)},
    "shiftlab.segmentation.mean_iou": lambda: {"predicted": _labels(16).reshape(4, 4),
                                               "target": torch.ones(4, 4, dtype=torch.long),
                                               "classes": 3},
    "shiftlab.figures.segmentation.masks_figure": lambda: {
        "images": _image(8, 8, n=2), "masks": (_labels(128) % 3).reshape(2, 8, 8)},
    "shiftlab.figures.segmentation.mask_explorer": lambda: {
        "x": _image(12, 12, n=1), "nets": {"stride": _seg_net()}, "shifts": [(0, 0), (1, 1)]},
    "shiftlab.book.publish.student_source": lambda: {"root": _course(),
                                                     "destination": _course() / "_build" / "st"},
}


def _fields(obj) -> dict[str, Any]:
    return {field.name: getattr(obj, field.name) for field in dataclasses.fields(obj)}


def _sweep_fields():
    return _fields(_sweep())


def _dsconfig():
    from shiftlab.restoring import DownsamplingConfig
    return DownsamplingConfig(channels=(2,))


def _dense_config():
    from shiftlab.augmentation import DenseHeadConfig
    return DenseHeadConfig(size=8, channels=(2, 2))


def _dsnet():
    from shiftlab.restoring import DownsamplingNet
    return DownsamplingNet(_dsconfig())


def _stack_config():
    return shiftlab.ConvNetConfig(channels=(2, 2))


def _rook_config():
    from shiftlab.rook import RookNetConfig
    return RookNetConfig()


def _local_max_net():
    from shiftlab.local_max import LocalMaxNet
    return LocalMaxNet(4)


def _patches():
    from shiftlab.quadrant import photo_patches
    return photo_patches(8)


def _pool_config():
    return shiftlab.ConvNetConfig(channels=(2,), local_pool=True)


def _copy_case():
    from shiftlab.exercises.stride import CopyCase
    return CopyCase("d", lambda z: z, (1, 1), "w")


def _titled_figure():
    fig, ax = plt.subplots()
    ax.set_title("A title")
    ax.set_xlabel("x")
    return fig


def shiftlab_rook_images():
    from shiftlab.rook import rook_images
    return rook_images()[0]


def _double(z):
    return 2 * z[..., ::2, ::2]


def _double_magnitude(z):
    return 2 * z.abs()[..., ::2, ::2]


def _magnitude():
    return shiftlab.magnitude_network(_net())


def _read_book():
    from shiftlab.book.edition import read_book
    return read_book(_course())


def _book():
    from shiftlab.book.edition import Book
    return Book("https://example.org/", "o/c", "main")


def _page():
    from shiftlab.book.edition import Page
    return Page(_book(), "book/intro", "cell")


def _notebook_text():
    from shiftlab.book.authoring import notebook_text
    return notebook_text


def _classes(images):
    """A predictor of classes ``(N,)``, as ``figures.augmentation.prediction_explorer`` takes."""
    return _net()(images).argmax(-1)


def _alias_free_net():
    from shiftlab.subpixel_net import AliasFreeConfig, AliasFreeNet
    return AliasFreeNet(AliasFreeConfig(channels=(2,)))


def _seg_net(down: str = "stride"):
    from shiftlab.segmentation import SegmentationConfig, SegmentationNet
    return SegmentationNet(SegmentationConfig(down=down, channels=(2, 2)))


def _cache():
    from shiftlab.book.execution import use_cache
    return use_cache(_course() / "_build" / "cache", "key")


# ------------------------------------------------------------------ the callables

def public_callables() -> dict[str, tuple[Callable, type | None]]:
    """Every public callable of shiftlab by qualified name, with its class if it is a method."""
    found: dict[str, tuple[Callable, type | None]] = {}
    modules = [shiftlab.__name__] + [
        info.name for info in pkgutil.walk_packages(shiftlab.__path__, "shiftlab.")
        if not any(part.startswith("_") for part in info.name.split(".")[1:])]
    for module_name in modules:
        module = importlib.import_module(module_name)
        for name, obj in vars(module).items():
            if name.startswith("_") or not callable(obj) or obj.__module__ != module_name:
                continue
            if inspect.isclass(obj) and (issubclass(obj, BaseException)
                                         or getattr(obj, "_is_protocol", False)):
                continue  # exception classes are raised, protocols describe: neither is called
            found[f"{module_name}.{name}"] = (obj, None)
            if inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    if not attr.startswith("_") and inspect.isfunction(member):
                        found[f"{module_name}.{name}.{attr}"] = (member, obj)
    return found


INSTANCES: dict[str, Callable[[], Any]] = {
    # a class whose methods are fuzzed on an instance of a subclass (an abstract base)
    "shiftlab.models.ConvStack": lambda: _net(),
}


def is_checker(qualname: str) -> bool:
    """An exercise checker (``shiftlab.exercises.*.check_*``): its first argument is the learner's
    function, which it calls; its own arguments are the checkers' owners' to fuzz."""
    parts = qualname.split(".")
    return parts[1] == "exercises" and parts[-1].startswith("check_")


def valid_call(qualname: str, func: Callable) -> dict[str, Any] | None:
    """The keyword arguments of one valid call, or None if some required one has no example."""
    if is_checker(qualname):
        return {"answer": _stub}
    if qualname in CALLS:
        return CALLS[qualname]()
    kwargs = {}
    for parameter in inspect.signature(func).parameters.values():
        if parameter.name == "self" or parameter.kind in (parameter.VAR_POSITIONAL,
                                                          parameter.VAR_KEYWORD):
            continue
        if parameter.default is not parameter.empty:
            continue
        if parameter.name not in EXAMPLES:
            return None
        kwargs[parameter.name] = EXAMPLES[parameter.name]()
    return kwargs


def fuzzed_parameters(qualname: str, func: Callable, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Each parameter to fuzz with its valid value: the given ones, and the defaults."""
    if is_checker(qualname):
        return dict(kwargs)
    values = {}
    for parameter in inspect.signature(func).parameters.values():
        if parameter.name == "self" or parameter.kind in (parameter.VAR_POSITIONAL,
                                                          parameter.VAR_KEYWORD):
            continue
        if parameter.name in kwargs:
            values[parameter.name] = kwargs[parameter.name]
        elif parameter.default is not parameter.empty and parameter.default is not None:
            values[parameter.name] = parameter.default
    return values


# ------------------------------------------------------------------ bad and edge values

MUST_RAISE, EDGE, BENIGN, META, SAME_AS_FLOAT = "must raise", "edge", "benign", "meta", "as float"


def _with_nan(x: torch.Tensor, value: float) -> torch.Tensor:
    """``x`` with ``value`` at the centre pixel of every map (so a crop keeps it)."""
    y = x.clone()
    if y.dim() >= 2:
        h, w = y.shape[-2] // 2, y.shape[-1] // 2
        y[..., max(h - 1, 0) : h + 1, max(w - 1, 0) : w + 1] = value
    else:
        y.view(-1)[y.numel() // 2] = value
    return y


def variants(value: Any, name: str = "", annotation: str = "") -> list[tuple[str, Any, str]]:
    """The bad and edge values for a parameter ``name`` whose valid value is ``value``:
    ``(label, bad value, rule)``. A parameter annotated ``Any`` takes anything: not fuzzed; a
    container of ``Any`` only gets a wrong type and an empty one."""
    if annotation == "Any":
        return []
    if "Any" in annotation and isinstance(value, tuple | list):
        return [("int for sequence", 3, MUST_RAISE), ("empty sequence", type(value)(), EDGE)]
    if isinstance(value, bool):
        return [("str for bool", "False", MUST_RAISE), ("int for bool", 1, MUST_RAISE)]
    if isinstance(value, int):
        return [("float for int", 1.5, MUST_RAISE), ("bool for int", True, MUST_RAISE),
                ("str for int", "3", MUST_RAISE), ("0", 0, EDGE), ("-1", -1, EDGE),
                ("10**6", 10**6, EDGE), ("2**63", 2**63, MUST_RAISE)]
    if isinstance(value, float):
        return [("str for float", "0.1", MUST_RAISE), ("bool for float", True, MUST_RAISE),
                ("nan", math.nan, MUST_RAISE), ("inf", math.inf, EDGE), ("-1.0", -1.0, EDGE)]
    if isinstance(value, str):
        return [("int for str", 3, MUST_RAISE), ("unknown str", "bogus", EDGE)]
    if isinstance(value, torch.dtype):
        return [("dtype int64", torch.int64, MUST_RAISE), ("dtype bool", torch.bool, MUST_RAISE),
                ("dtype complex64", torch.complex64, MUST_RAISE),
                ("dtype float16", torch.float16, EDGE), ("str for dtype", "float32", MUST_RAISE)]
    if isinstance(value, torch.Tensor):
        if not value.is_floating_point():
            return [("list for tensor", value.tolist(), MUST_RAISE),
                    ("empty", value[:0], EDGE), ("rank + 1", value[None], EDGE),
                    ("meta", value.to("meta"), META)]
        out = [("list for tensor", value.tolist(), MUST_RAISE), ("rank + 1", value[None], EDGE)]
        if value.dim():
            out += [("rank - 1", value[0], EDGE), ("empty", value[..., :0], EDGE)]
        out += [
               ("int64", value.round().to(torch.int64), SAME_AS_FLOAT),
               ("bool", (value > 0), SAME_AS_FLOAT),
               ("complex64", value.to(torch.complex64), SAME_AS_FLOAT),
               ("float16", value.to(torch.float16), EDGE),
               ("nan", _with_nan(value, math.nan), EDGE), ("inf", _with_nan(value, math.inf), EDGE),
               ("requires grad", value.detach().clone().requires_grad_(), BENIGN),
               ("meta", value.to("meta"), META)]
        if value.dim() >= 2:
            noncontiguous = value.transpose(-1, -2).contiguous().transpose(-1, -2)
            if not noncontiguous.is_contiguous():
                out.append(("non-contiguous", noncontiguous, BENIGN))
        return out
    if name == "argv" and isinstance(value, list):
        return [("int for argv", 3, MUST_RAISE), ("unknown option", [*value, "--no-such-option"],
                                                  MUST_RAISE)]
    if isinstance(value, tuple | list) and value and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        return [("str for ints", "ab", MUST_RAISE),
                ("float in ints", (1.5, *value[1:]), MUST_RAISE),
                ("one fewer", tuple(value[:-1]), EDGE),
                ("2**63 in ints", (2**63, *value[1:]), MUST_RAISE)]
    if isinstance(value, Path):
        # 987654, not 3: an int is a file descriptor to open(), and fd 3 may be this process's
        return [("int for path", 987654, MUST_RAISE),
                ("missing path", value.parent / "no-such-thing", EDGE)]
    if isinstance(value, Mapping):
        return [("int for mapping", 3, MUST_RAISE), ("empty mapping", {}, EDGE)]
    if isinstance(value, tuple | list | range):
        return [("int for sequence", 3, MUST_RAISE), ("empty sequence", type(value)() if not
                                                       isinstance(value, range) else range(0),
                                                       EDGE)]
    if isinstance(value, nn.Module) or callable(value):
        return [("int for callable", 3, MUST_RAISE)]
    if dataclasses.is_dataclass(value) or isinstance(value, nbformat.NotebookNode):
        return [("int for object", 3, MUST_RAISE)]
    return []


# ------------------------------------------------------------------ running a call

class Hang(Exception):
    pass


class CommandReached(Exception):
    """What the stand-in for a subprocess or a kernel raises: the call got past its checks."""


def _alarm(signum, frame):
    raise Hang


def timed(call: Callable[[], Any], seconds: float = TIMEOUT_S) -> tuple[str, Any]:
    """``("ok", result)``, ``("raised", exception)`` or ``("hang", None)``."""
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            return "ok", call()
        except Hang:
            return "hang", None
        except CommandReached as reached:
            return "ok", reached
        except SystemExit as done:
            if done.code in (0, None):
                return "ok", 0
            return "raised", done
        except BaseException as error:
            return "raised", error
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    box: list = []

    def run():
        try:
            box.append(("ok", call()))
        except CommandReached as reached:
            box.append(("ok", reached))
        except SystemExit as done:
            box.append(("ok", 0) if done.code in (0, None) else ("raised", done))
        except BaseException as error:
            box.append(("raised", error))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    return box[0] if box else ("hang", None)


def _tensors(value: Any, depth: int = 0) -> list[torch.Tensor]:
    if depth > 4:
        return []
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, nn.Module):
        return list(value.state_dict().values())
    if isinstance(value, Mapping):
        return [t for v in value.values() for t in _tensors(v, depth + 1)]
    if isinstance(value, tuple | list):
        return [t for v in value for t in _tensors(v, depth + 1)]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [t for f in dataclasses.fields(value) for t in _tensors(getattr(value, f.name),
                                                                        depth + 1)]
    if isinstance(value, float):
        return [torch.tensor(value)]
    return []


def _numbers(value: Any) -> list[torch.Tensor]:
    return [t.detach() for t in _tensors(value) if t.device.type != "meta"]


def _has_nan(value: Any) -> bool:
    return any((t.is_floating_point() or t.is_complex()) and not torch.isfinite(t).all()
               for t in _numbers(value))


def same(a: Any, b: Any, tol: float = 1e-5) -> bool:
    ta, tb = _numbers(a), _numbers(b)
    if len(ta) != len(tb):
        return False
    for x, y in zip(ta, tb, strict=True):
        if x.shape != y.shape:
            return False
        x, y = x.to(torch.complex128 if x.is_complex() or y.is_complex() else torch.float64), \
            y.to(torch.complex128 if x.is_complex() or y.is_complex() else torch.float64)
        finite = y[torch.isfinite(y)]
        scale = 1 + float(finite.abs().max()) if finite.numel() else 1.0
        if not torch.allclose(x, y, rtol=tol, atol=tol * scale, equal_nan=True):
            return False
    return _same_structure(a, b)


def _same_structure(a: Any, b: Any, depth: int = 0) -> bool:
    """Whether ``a`` and ``b`` have the same structure and the same plain values (numbers,
    strings); tensors are compared by ``same``, other objects (figures, functions) by type."""
    if type(a) is not type(b):
        return isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)
    if depth > 4 or isinstance(a, torch.Tensor):
        return True
    if isinstance(a, tuple | list):
        return len(a) == len(b) and all(_same_structure(x, y, depth + 1)
                                        for x, y in zip(a, b, strict=True))
    if isinstance(a, Mapping):
        return list(a) == list(b) and all(_same_structure(a[k], b[k], depth + 1) for k in a)
    if isinstance(a, float):  # a computed number: the same up to rounding
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12) or (math.isnan(a)
                                                                     and math.isnan(b))
    if isinstance(a, int | str | bool | bytes | Path):
        return a == b
    return True


def _clean(error: BaseException, name: str) -> bool:
    from shiftlab.exercises._core import ExerciseError
    if isinstance(error, SystemExit):
        return error.code == 2
    if isinstance(error, ExerciseError):
        return True  # a checker's own verdict on the learner's argument
    return isinstance(error, TypeError | ValueError) and name in str(error)


def classify(qualname: str, func: Callable, kwargs: dict[str, Any], name: str, bad: Any,
             rule: str, valid_result: Any, make: Callable[[dict], Any],
             seconds: float = TIMEOUT_S) -> str:
    """The outcome of one call with ``name=bad`` on top of the valid ``kwargs``."""
    status, result = timed(lambda: make({**kwargs, name: bad}), seconds)
    if status == "hang":
        return "hang"
    if status == "raised":
        if _clean(result, name):
            return "raised clean"
        if isinstance(result, TypeError | ValueError):
            return "unnamed"
        return f"raw {type(result).__name__}"
    try:
        if rule == MUST_RAISE:
            if qualname.endswith(".main") and result == 2:
                return "raised clean"  # a command's exit code 2: usage error, message printed
            return "accepted"
        if rule == BENIGN:
            return "returned correct" if same(result, valid_result) else "wrong"
        if rule == META:  # a computed result stays on the input's device, no silent CPU copy
            tensors = _tensors(result)
            return "returned correct" if not tensors or any(t.device.type == "meta"
                                                            for t in tensors) else "device"
        if rule == SAME_AS_FLOAT:
            as_float = bad.real if bad.is_complex() else bad
            status, reference = timed(lambda: make({**kwargs, name: as_float.to(torch.float64)}))
            if status != "ok":
                return "wrong"
            return "returned correct" if same(result, reference, 1e-2 if bad.dtype in (
                torch.float16, torch.bfloat16) else 1e-4) else "wrong"
        bad_has_nan = isinstance(bad, torch.Tensor) and bad.is_floating_point() and \
            bool(torch.isnan(bad).any())
        bad_not_finite = isinstance(bad, torch.Tensor) and bad.is_floating_point() and \
            not bool(torch.isfinite(bad).all())
        if bad_has_nan:
            numbers = _numbers(result)
            if numbers and all(t.is_floating_point() or t.is_complex() for t in numbers) \
                    and _has_nan(result):
                return "returned correct"  # a NaN in, a NaN out
            return "nan swallowed"
        if _has_nan(result) and not _has_nan(valid_result) and not bad_not_finite:
            return "silent nan"
        return "returned correct"
    finally:
        plt.close("all")


# ------------------------------------------------------------------ the course and the stand-ins

def _copy_course(into: Path) -> Path:
    course = into / "course"
    course.mkdir()
    for name in ("book", "solutions", "lessons", "notebooks", "binder"):
        if (ROOT / name).exists():
            shutil.copytree(ROOT / name, course / name)
    for name in ("_config.yml", "_toc.yml", "README.md", "pyproject.toml", "requirements.txt",
                 "requirements.in"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, course / name)
    (course / "_build" / "html").mkdir(parents=True)
    return course


@contextlib.contextmanager
def sandbox(course: bool = True):
    """A temporary folder as the current folder, with a copy of the course in it if ``course``;
    subprocesses and kernels stopped at the door."""
    global COURSE
    from nbclient import NotebookClient

    def refuse(*args, **kwargs):
        raise CommandReached("a command would run here")

    from IPython.core.interactiveshell import InteractiveShell

    shell_before = InteractiveShell.initialized()  # glue's display formatting makes one
    with tempfile.TemporaryDirectory() as tmp:
        COURSE = _copy_course(Path(tmp)) if course else Path(tmp)
        saved = (subprocess.Popen, NotebookClient.execute, NotebookClient.async_execute,
                 os.getcwd())
        subprocess.Popen = refuse  # type: ignore[misc]
        NotebookClient.execute = refuse  # type: ignore[method-assign]
        NotebookClient.async_execute = refuse  # type: ignore[method-assign]
        os.chdir(COURSE)
        try:
            with open(os.devnull, "w") as null, contextlib.redirect_stdout(null), \
                    contextlib.redirect_stderr(null):
                yield COURSE
        finally:
            subprocess.Popen, NotebookClient.execute, NotebookClient.async_execute = saved[:3]
            os.chdir(saved[3])
            COURSE = None
            plt.close("all")
            if not shell_before and InteractiveShell.initialized():
                InteractiveShell.clear_instance()  # the tests after this one run outside IPython


# ------------------------------------------------------------------ the fuzzing

def _fresh(value: Any) -> Any:
    """A copy of what a call may change (a network it trains, a generator it draws from), so
    every call starts from the same state."""
    if isinstance(value, nn.Module):
        return copy.deepcopy(value)
    if isinstance(value, torch.Generator):
        return torch.Generator().set_state(value.get_state())
    return value


def fuzz(qualname: str, func: Callable, owner: type | None) -> collections.Counter:
    """Fuzz one callable; the outcomes by kind, with ``valid call failed`` if its example does."""
    outcomes: collections.Counter = collections.Counter()
    torch.manual_seed(0)
    instance_kwargs = None
    if owner is not None:
        owner_name = qualname.rsplit(".", 1)[0]
        instance_kwargs = valid_call(owner_name, owner)
        if instance_kwargs is None:
            outcomes["no example"] += 1
            return outcomes
    kwargs = valid_call(qualname, func)
    if kwargs is None:
        outcomes["no example"] += 1
        return outcomes

    def make(arguments: dict[str, Any]) -> Any:
        torch.manual_seed(0)
        arguments = {name: _fresh(value) for name, value in arguments.items()}
        if owner is not None:
            factory = INSTANCES.get(qualname.rsplit(".", 1)[0])
            obj = factory() if factory else owner(**{name: _fresh(value) for name, value
                                                       in instance_kwargs.items()})
            return getattr(obj, func.__name__)(**arguments)
        return func(**arguments)

    start = time.perf_counter()
    status, valid_result = timed(lambda: make(kwargs), 4 * TIMEOUT_S)
    # a hang is a call much slower than the valid one (which may be slow on a loaded machine)
    seconds = max(TIMEOUT_S, 3 * (time.perf_counter() - start))
    if status != "ok":
        outcomes[f"valid call failed: {status} {valid_result!r}"[:200]] += 1
        return outcomes
    outcomes["valid call"] += 1
    annotations = {p.name: str(p.annotation) for p in
                   inspect.signature(func).parameters.values()}
    for name, value in fuzzed_parameters(qualname, func, kwargs).items():
        for label, bad, rule in variants(value, name, annotations.get(name, "")):
            if is_checker(qualname) and rule != MUST_RAISE:
                continue
            outcome = classify(qualname, func, kwargs, name, bad, rule, valid_result, make,
                               seconds)
            outcomes[outcome] += 1
            if outcome not in ("raised clean", "returned correct"):
                outcomes[f"FAIL {name}={label}: {outcome}"] += 1
        plt.close("all")
    return outcomes


CALLABLES = public_callables()
FAILURES = {"accepted", "wrong", "silent nan", "nan swallowed", "device", "unnamed", "hang"}


@pytest.mark.parametrize("qualname", sorted(CALLABLES))
def test_public_callable_refuses_bad_arguments_cleanly(qualname):
    """Every public callable, given one bad argument on top of a valid call, raises a TypeError
    or ValueError naming that argument, or returns a correct result; it never hangs, returns
    a silent NaN or a wrong result, or raises another error."""
    func, owner = CALLABLES[qualname]
    with sandbox(qualname.startswith("shiftlab.book")):
        outcomes = fuzz(qualname, func, owner)
    assert outcomes["no example"] == 0, (
        f"{qualname} has no valid example call: add its parameters to EXAMPLES, or the whole "
        f"call to CALLS ('{qualname}': lambda: {{...}}), in tests/science/test_fuzz.py")
    failed = sorted(key for key in outcomes if key.startswith(("FAIL", "valid call failed")))
    assert not failed, f"{qualname}:\n" + "\n".join(failed)


def main() -> None:
    """Print the counts: callables, calls, outcomes by kind, and each failure."""
    totals: collections.Counter = collections.Counter()
    failures = []
    start = time.process_time()
    only = sys.argv[1:]
    for qualname in sorted(CALLABLES):
        if only and not any(qualname.startswith(prefix) for prefix in only):
            continue
        func, owner = CALLABLES[qualname]
        print(qualname, file=sys.stderr, flush=True)
        with sandbox(qualname.startswith("shiftlab.book")):
            outcomes = fuzz(qualname, func, owner)
        for key, count in outcomes.items():
            if key.startswith(("FAIL", "valid call failed")):
                failures.append(f"{qualname}: {key}")
                if key.startswith("valid call failed"):
                    totals["valid call failed"] += count
            elif key != "valid call":
                totals[key] += count
            else:
                totals["valid call"] += count
    calls = sum(v for k, v in totals.items() if k not in ("no example", "valid call failed"))
    print("\n".join(failures))
    print(f"\ncallables: {len(CALLABLES)}; calls (bad or edge, plus one valid each): {calls}; "
          f"CPU seconds: {time.process_time() - start:.0f}")
    for key, count in totals.most_common():
        print(f"  {key}: {count}")


if __name__ == "__main__":
    sys.exit(main())
