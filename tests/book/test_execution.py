"""The book's executions: the cache is keyed on shiftlab's code, notebooks run two at a time,
a failing notebook is never cached, and prose does not count (shiftlab.book.execution)."""

import shutil

import nbformat
import pytest

from shiftlab.book.execution import (
    KEY_SETTING,
    _reread_notebooks,
    cache_path,
    clear_cache,
    code_key,
    execute_missing,
    execute_notebooks,
    jobs_setting,
    use_cache,
)

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def _notebook(folder, name, code, prose="# A page"):
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell(prose), nbformat.v4.new_code_cell(code)],
        metadata={"kernelspec": KERNELSPEC})
    path = folder / f"{name}.ipynb"
    nbformat.write(notebook, path)
    return path


def _package(tmp_path):
    import shiftlab

    package = tmp_path / "shiftlab"
    shutil.copytree(shiftlab.__path__[0], package,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return package


def test_the_code_key_is_the_installed_shiftlabs_and_changes_with_any_of_its_files(tmp_path):
    package = _package(tmp_path)
    assert code_key(package) == code_key()
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"bytecode")
    assert code_key(package) == code_key(), "bytecode is not code"
    source = package / "metrics.py"
    source.write_text(source.read_text(encoding="utf-8") + "\n# an edit\n", encoding="utf-8")
    assert code_key(package) != code_key()
    source.unlink()
    assert code_key(package) != code_key()


def test_the_code_key_refuses_a_package_that_is_not_a_folder(tmp_path):
    with pytest.raises(ValueError, match="package must be a folder"):
        code_key(tmp_path / "missing")


def test_two_notebooks_run_two_at_a_time_each_in_its_folder_with_one_thread(
        tmp_path, monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    threads = "import os\nprint(os.environ['OMP_NUM_THREADS'], os.environ['SHIFTLAB_TEST'])"
    paths = [_notebook(tmp_path / "a", "first", "import os\nprint(os.getcwd())"),
             _notebook(tmp_path / "b", "second", threads)]
    first, second = execute_notebooks(paths, jobs=2, env={"SHIFTLAB_TEST": "yes"})
    assert (first.path, second.path) == tuple(paths)  # in the order given
    assert first.error is None and second.error is None
    assert first.notebook.cells[1].outputs[0]["text"].strip() == str(tmp_path / "a")
    assert first.notebook.cells[1].execution_count == 1
    assert "execution" not in first.notebook.cells[1].metadata  # no timings in the cache
    assert second.notebook.cells[1].outputs[0]["text"].split() == ["1", "yes"]


@pytest.mark.parametrize("jobs", [0, -1, 1.5, True, "2"])
def test_a_number_of_jobs_that_is_not_a_positive_int_is_refused(tmp_path, jobs):
    with pytest.raises(ValueError, match="jobs must be an int >= 1"):
        execute_notebooks([_notebook(tmp_path, "a", "1")], jobs=jobs)


def test_a_missing_notebook_is_refused_before_anything_runs(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        execute_notebooks([tmp_path / "missing.ipynb"])


def test_the_jobs_setting_comes_from_the_environment_first(monkeypatch):
    monkeypatch.delenv("SHIFTLAB_EXECUTION_JOBS", raising=False)
    assert jobs_setting(2) == 2
    monkeypatch.setenv("SHIFTLAB_EXECUTION_JOBS", "1")
    assert jobs_setting(2) == 1
    monkeypatch.setenv("SHIFTLAB_EXECUTION_JOBS", "two")
    with pytest.raises(ValueError, match="SHIFTLAB_EXECUTION_JOBS"):
        jobs_setting(2)


def test_a_notebook_is_cached_once_and_found_again_by_its_code_not_its_prose(tmp_path):
    cache = use_cache(tmp_path / "cache", key="code-1")
    good = _notebook(tmp_path, "good", "print('made once')")
    bad = _notebook(tmp_path, "bad", "raise RuntimeError('fails on purpose')")
    executions = execute_missing(cache, [good, bad], jobs=2, log=lambda message: None)
    assert [done.error is None for done in executions] == [True, False]
    assert "fails on purpose" in executions[1].error
    assert len(cache.list_cache_records()) == 1  # the failing notebook is not cached
    copy = tmp_path / "copy"
    copy.mkdir()
    reworded = _notebook(copy, "good", "print('made once')", prose="# Other words")
    outputs = cache.merge_match_into_notebook(nbformat.read(reworded, as_version=4))[1]
    assert outputs.cells[0].source == "# Other words"
    assert outputs.cells[1].outputs[0]["text"] == "made once\n"
    assert execute_missing(cache, [good, reworded], log=lambda message: None) == []
    edited = _notebook(copy, "edited", "print('made twice')")
    assert [done.path for done in execute_missing(cache, [edited], jobs=1,
                                                  log=lambda message: None)] == [edited]


def test_a_cache_filled_by_other_code_is_emptied_and_the_same_code_keeps_it(tmp_path):
    from jupyter_cache.cache.db import Setting

    cache = use_cache(tmp_path / "cache", key="code-1")
    execute_missing(cache, [_notebook(tmp_path, "a", "1 + 1")], log=lambda message: None)
    assert len(use_cache(tmp_path / "cache", key="code-1").list_cache_records()) == 1
    cache = use_cache(tmp_path / "cache", key="code-2")
    assert cache.list_cache_records() == []
    assert Setting.get_value(KEY_SETTING, cache.db) == "code-2"
    assert clear_cache(cache) == 0
    with pytest.raises(TypeError, match="key must be a non-empty str"):
        use_cache(tmp_path / "cache", key="")


def test_the_books_cache_is_under_build_unless_the_config_names_one(tmp_path):
    (tmp_path / "_config.yml").write_text("title: t\n", encoding="utf-8")
    assert cache_path(tmp_path) == tmp_path / "_build" / ".jupyter_cache"
    (tmp_path / "_config.yml").write_text("execute:\n  cache: elsewhere\n", encoding="utf-8")
    assert cache_path(tmp_path) == tmp_path / "elsewhere"


def test_after_a_change_of_code_every_notebook_page_is_read_again():
    from types import SimpleNamespace

    env = SimpleNamespace(found_docs={"intro", "book/01", "book/02", "book/glossary", "gone"},
                          doc2path=lambda doc: f"/book/{doc}" + (".md" if "glossary" in doc
                                                                 else ".ipynb"))
    changed_code = SimpleNamespace(shiftlab_code_changed=True)
    same_code = SimpleNamespace(shiftlab_code_changed=False)
    # the edited page (book/01) and the removed one are Sphinx's already; the prose page stays
    assert _reread_notebooks(changed_code, env, set(), {"book/01"}, {"gone"}) == [
        "book/02", "intro"]
    assert _reread_notebooks(same_code, env, set(), {"book/01"}, set()) == []
    assert _reread_notebooks(SimpleNamespace(), env, set(), set(), set()) == []
