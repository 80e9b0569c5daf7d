"""The four rooms of shiftlab are a contract: the science <- figures <- exercises <- book tooling.

``lint-imports`` (import-linter, pinned in requirements.in) checks the contracts of
``pyproject.toml`` on the import graph of ``src/shiftlab``; these tests run it as part of the test
command, check that its list of science modules is the package's, and that it fails on a broken
layer. Every import of ``src/`` is declared in ``pyproject.toml`` (deptry).
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "shiftlab"
ROOMS = ("figures", "exercises", "book")
TOOLS = Path(sys.executable).parent

DATA_FROM_MATPLOTLIB = {"matplotlib.cbook", "matplotlib.font_manager", "matplotlib.ft2font"}
"""What the science may take from matplotlib: the photograph and the font it ships (data), never
a figure. import-linter forbids only whole external packages, so this test checks the rest."""


def science_modules() -> set[str]:
    """The science: ``shiftlab`` itself and every module at its top level (not the rooms)."""
    found = {"shiftlab"}
    for path in PACKAGE.iterdir():
        if path.suffix == ".py" and path.stem != "__init__":
            found.add(f"shiftlab.{path.stem}")
        elif path.is_dir() and path.name not in ROOMS and (path / "__init__.py").is_file():
            found.add(f"shiftlab.{path.name}")
    return found


def contracts() -> list[dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return config["tool"]["importlinter"]["contracts"]


def lint_imports(cwd: Path, package_parent: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(package_parent)}
    return subprocess.run([str(TOOLS / "lint-imports"), "--no-cache"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_the_import_contracts_hold():
    result = lint_imports(ROOT, ROOT / "src")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_no_import_is_exempted_from_a_contract():
    assert all("ignore_imports" not in contract for contract in contracts())


def test_the_science_contract_names_every_science_module():
    science = next(c for c in contracts() if c["type"] == "forbidden")
    assert set(science["source_modules"]) == science_modules()
    assert {f"shiftlab.{room}" for room in ROOMS} <= set(science["forbidden_modules"])


def test_every_chapter_checker_module_is_independent_of_the_others():
    checkers = next(c for c in contracts() if c["type"] == "independence")
    modules = {f"shiftlab.exercises.{p.stem}" for p in (PACKAGE / "exercises").glob("*.py")
               if not p.stem.startswith("_")}
    assert set(checkers["modules"]) == modules


@pytest.mark.parametrize("module", sorted(science_modules()))
def test_the_science_takes_only_data_from_matplotlib(module):
    name = module.removeprefix("shiftlab").lstrip(".") or "__init__"
    path = PACKAGE / f"{name}.py"
    if not path.is_file():
        path = PACKAGE / name / "__init__.py"
    imported = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported |= ({f"{node.module}.{a.name}" for a in node.names}
                         if node.module == "matplotlib" else {node.module})
    plotting = {name for name in imported if name.split(".")[0] == "matplotlib"}
    assert plotting <= DATA_FROM_MATPLOTLIB, f"{module} imports {plotting - DATA_FROM_MATPLOTLIB}"


def test_a_science_module_that_imports_a_figure_breaks_the_contract(tmp_path):
    copy = tmp_path / "src"
    shutil.copytree(PACKAGE, copy / "shiftlab", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    transforms = copy / "shiftlab" / "transforms.py"
    transforms.write_text(transforms.read_text(encoding="utf-8")
                          + "\nfrom shiftlab.figures import panels  # noqa\n", encoding="utf-8")
    result = lint_imports(tmp_path, copy)
    assert result.returncode != 0
    assert "shiftlab.transforms -> shiftlab.figures" in result.stdout


def test_every_import_of_the_package_is_a_declared_dependency():
    result = subprocess.run([str(TOOLS / "deptry"), "src"], cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
