"""The test command shares its work between the pytest-xdist workers without breaking what
must stay together (the root conftest.py's grouping)."""

import importlib.util

from book_pages import ROOT


def _root_conftest():
    spec = importlib.util.spec_from_file_location("root_conftest_workers", ROOT / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_notebooks_cells_form_one_group_and_other_tests_go_where_a_worker_is_free():
    group = _root_conftest().xdist_group_of
    assert group("book/01_a.ipynb::Cell 0") == group("book/01_a.ipynb::Cell 7") == \
        "book/01_a.ipynb"
    assert group("lessons/01_a.ipynb::Cell 0") != group("book/01_a.ipynb::Cell 0")
    assert group("tests/test_metrics.py::test_x[1]") == "tests/test_metrics.py::test_x[1]"
    assert group("tests/test_metrics.py::test_x[1]") != group("tests/test_metrics.py::test_y")


def test_the_tests_of_the_built_book_form_one_group():
    conftest = _root_conftest()
    assert {conftest.xdist_group_of(f"{path}::test_x") for path in conftest.BOOK_TESTS} == \
        {"book"}
    for path in conftest.BOOK_TESTS:
        assert (ROOT / path).is_file(), path


def test_the_test_command_runs_on_every_core_with_the_grouping_scheduler():
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    addopts = config["tool"]["pytest"]["ini_options"]["addopts"].split()
    assert addopts[:4] == ["-n", "auto", "--dist", "loadgroup"]
