"""Results do not depend on the CPU: the law tests pass on other CPU code paths and thread counts.

PyTorch does not decide alone in which order the terms of a sum are added. MKL (float64
convolutions, matrix products, FFTs) picks its kernels by the CPU, or by ``MKL_CBWR``; oneDNN
(float32 convolutions) by the CPU, or by ``ONEDNN_MAX_CPU_ISA``; PyTorch's own vectorised
kernels (sums, pointwise functions) by ``ATEN_CPU_CAPABILITY``; and the number of threads,
``OMP_NUM_THREADS``, splits the work differently. A reader's laptop, a Binder node or a Colab
machine takes one of these paths, and the course's claims must hold on all of them.

Each setting below runs the law tests (marker ``law``) in a fresh interpreter, because the
libraries read these variables once, when they load. This does not pin a path to make numbers
agree: it runs the same claims on several paths, and every one must pass. The notebooks run
under one extra setting through nbval (the root ``conftest.py``).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

AVX2_MACHINE = {"MKL_CBWR": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}
"""The code paths of a CPU with AVX2 but no AVX-512, as many laptops have."""

SETTINGS: dict[str, dict[str, str]] = {
    "default, 1 thread": {"OMP_NUM_THREADS": "1"},
    "default, 2 threads": {"OMP_NUM_THREADS": "2"},
    "MKL AVX2, 1 thread": {"MKL_CBWR": "AVX2", "OMP_NUM_THREADS": "1"},
    "AVX2 machine (MKL, oneDNN, PyTorch on AVX2), 2 threads": {
        **AVX2_MACHINE, "OMP_NUM_THREADS": "2",
    },
    "MKL COMPATIBLE, 2 threads": {"MKL_CBWR": "COMPATIBLE", "OMP_NUM_THREADS": "2"},
    "no vector instructions (MKL COMPATIBLE, oneDNN SSE4.1, PyTorch scalar), 1 thread": {
        "MKL_CBWR": "COMPATIBLE", "ONEDNN_MAX_CPU_ISA": "SSE41", "ATEN_CPU_CAPABILITY": "default",
        "OMP_NUM_THREADS": "1",
    },
}
"""Every CPU path the law tests must pass on: MKL's default, AVX2 and COMPATIBLE paths, each
with one and with two threads; oneDNN's convolutions on AVX2 and on SSE4.1; PyTorch's own kernels
on AVX2 and without vector instructions."""

PATH_VARIABLES = ("MKL_CBWR", "ONEDNN_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY", "OMP_NUM_THREADS",
                  "MKL_NUM_THREADS", "OMP_WAIT_POLICY")


def law_test_files() -> list[str]:
    """The test files that hold law tests (collecting only these keeps each run short)."""
    return sorted(str(path.relative_to(ROOT)) for path in (ROOT / "tests").rglob("test_*.py")
                  if path.name != Path(__file__).name
                  and "pytest.mark.law" in path.read_text(encoding="utf-8"))


def law_test_command() -> list[str]:
    """pytest on the law tests only, with fewer hypothesis cases (``tests/law_profile.py``) and
    without the conftests (the book fixture and nbval), so that a run costs seconds."""
    return [
        sys.executable, "-m", "pytest", *law_test_files(), "-m", "law", "-q", "-x",
        "--noconftest", "-p", "law_profile", "-p", "no:cacheprovider", "-p", "no:nbval",
        "-o", "addopts=--strict-markers",
    ]


def path_environment(setting: dict[str, str]) -> dict[str, str]:
    """This process's environment with the CPU-path variables replaced by ``setting``.

    Idle OpenMP threads sleep instead of spinning (``OMP_WAIT_POLICY=PASSIVE``): on a machine
    that is busy with other work, spinning threads cost several times the CPU of the tests
    themselves. How a thread waits changes no arithmetic.
    """
    env = {k: v for k, v in os.environ.items() if k not in PATH_VARIABLES}
    tests = str(ROOT / "tests")  # where law_profile, the plugin, lives
    path = os.pathsep.join(p for p in (tests, env.get("PYTHONPATH", "")) if p)
    return {**env, "PYTHONPATH": path, "OMP_WAIT_POLICY": "PASSIVE", **setting}


@pytest.mark.parametrize("name", SETTINGS)
def test_the_law_tests_pass_on_every_cpu_path(name):
    result = subprocess.run(law_test_command(), cwd=ROOT, env=path_environment(SETTINGS[name]),
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, (
        f"the law tests fail on the CPU path {name!r} ({SETTINGS[name]}):\n"
        + (result.stdout + result.stderr)[-4000:]
    )
    assert " passed" in result.stdout, result.stdout[-2000:]


def test_the_law_tests_are_selected_and_this_test_is_not_one():
    listed = subprocess.run([*law_test_command(), "--collect-only"], cwd=ROOT,
                            env=path_environment({}), capture_output=True, text=True,
                            timeout=600)
    assert listed.returncode == 0, (listed.stdout + listed.stderr)[-3000:]
    assert "test_cpu_paths" not in listed.stdout  # no recursion
    assert "tests/book/test_cpu_paths.py" not in law_test_files()
    for chapter in ("test_chapter1", "test_chapter2", "test_chapter3", "test_chapter5"):
        assert chapter in listed.stdout


def test_nbval_runs_the_notebooks_on_the_avx2_path():
    spec = importlib.util.spec_from_file_location("root_conftest", ROOT / "conftest.py")
    root_conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(root_conftest)
    assert root_conftest.NOTEBOOK_CPU_PATH == AVX2_MACHINE
