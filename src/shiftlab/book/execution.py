"""Executing the book's notebooks: once, two at a time, and never with outputs of old code.

The book is built with myst-nb's ``execute_notebooks: cache`` (``_config.yml``): an executed
notebook is kept in a jupyter-cache (``_build/.jupyter_cache``) and reused by the next build,
and by the student edition, whose chapters are copies with the same code cells. jupyter-cache
finds a notebook by its code cells and kernel alone, so an edit of the prose reuses the outputs
and an edit of a code cell executes the notebook again.

The code cells are not all the code, though: every notebook imports ``shiftlab``. This module is
a Sphinx extension (listed in ``_config.yml``) that adds what the cache cannot see, and uses the
second core:

1. **The code key.** ``code_key()`` hashes every file of the installed ``shiftlab`` package, the
   name and version of every installed distribution, and the Python version. The cache records
   the key it was filled with; a build that finds another key empties the cache first
   (``use_cache``) and has Sphinx read every notebook page again, not only the edited ones
   (``_reread_notebooks``), so a page never shows outputs made by other code than the build's.
2. **Two at a time.** Before Sphinx reads the pages, the notebooks that miss the cache are
   executed ``jobs`` at a time (``execute_missing``; ``shiftlab_execution_jobs`` in the Sphinx
   config, ``SHIFTLAB_EXECUTION_JOBS`` in the environment; default 2), each in a fresh kernel in
   its own folder with the timeout of ``_config.yml``, exactly as myst-nb would, and stored in
   the cache; myst-nb then finds every page in it. With more than one job, each kernel gets
   ``OMP_NUM_THREADS=1`` unless the environment sets it: two kernels of two threads each on a
   2-core machine fight for the cores, one thread each keeps both busy. That is a budget for
   the build's time; nothing in a notebook relies on it. A notebook that fails is not stored:
   myst-nb executes it again, the build fails with its traceback, and no page ships without
   outputs.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.metadata
import os
import sys
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import nbformat

from shiftlab import _validate

KEY_SETTING = "shiftlab_code_key"
"""The name under which the cache records the code key it was filled with."""

JOBS_ENV = "SHIFTLAB_EXECUTION_JOBS"
"""Environment variable: how many notebooks the book build executes at a time."""

DEFAULT_JOBS = 2


def code_key(package: str | Path | None = None) -> str:
    """A hash of the code a notebook runs besides its own cells.

    Every file of the ``package`` folder (default: the installed ``shiftlab``), by its path and
    bytes, bytecode caches excluded; the name and version of every installed distribution; the
    Python version.
    """
    if package is not None:
        package = _validate.path(package, "package")
    if package is None:
        import shiftlab

        package = Path(shiftlab.__file__).parent
    package = Path(package).resolve()
    if not package.is_dir():
        raise ValueError(f"package must be a folder, got {str(package)!r}")
    digest = hashlib.sha256(f"python {sys.version}\n".encode())
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            digest.update(f"{path.relative_to(package).as_posix()}\n".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    distributions = sorted({f"{dist.metadata['Name']}=={dist.version}".lower()
                            for dist in importlib.metadata.distributions()
                            if dist.metadata["Name"]})
    digest.update("\n".join(distributions).encode())
    return digest.hexdigest()


def cache_path(root: str | Path) -> Path:
    """The jupyter-cache of the book in ``root``: ``execute.cache`` of its ``_config.yml``
    (relative to ``root``), else myst-nb's default, ``_build/.jupyter_cache``."""
    root = _validate.path(root, "root", exists="dir")
    if not (root / "_config.yml").is_file():
        raise ValueError(f"root must be the book's folder (with _config.yml), got {str(root)!r}")
    import yaml  # installed with jupyter-book

    config = yaml.safe_load((Path(root) / "_config.yml").read_text(encoding="utf-8"))
    cache = (config.get("execute") or {}).get("cache") or "_build/.jupyter_cache"
    return (Path(root) / cache).resolve()


def use_cache(path: str | Path, key: str | None = None):
    """The jupyter-cache at ``path``, holding only notebooks executed with ``key``.

    ``key`` defaults to ``code_key()``. If the cache was filled with another key (or with none),
    every executed notebook in it is removed (through jupyter-cache, which touches nothing else
    in the folder) and the new key is recorded.
    """
    path = _validate.path(path, "path")
    return _keyed_cache(path, code_key() if key is None else key)[0]


def _keyed_cache(path: Path, key: str) -> tuple[Any, bool]:
    """``use_cache``'s work: the cache, and whether it was filled with another key (emptied)."""
    from jupyter_cache import get_cache
    from jupyter_cache.cache.db import Setting

    if not isinstance(key, str) or not key:
        raise TypeError(f"key must be a non-empty str, got {key!r}")
    cache = get_cache(str(path))
    renewed = Setting.get_value(KEY_SETTING, cache.db, default="") != key
    if renewed:
        clear_cache(cache)
        Setting.set_value(KEY_SETTING, key, cache.db)
    return cache, renewed


def clear_cache(cache) -> int:
    """Remove every executed notebook from ``cache`` (a jupyter-cache); return how many."""
    records = cache.list_cache_records()
    for record in records:
        cache.remove_cache(record.pk)
    return len(records)


@dataclass
class Execution:
    """One notebook executed: the notebook with its outputs, the seconds, the error if any."""

    path: Path
    notebook: nbformat.NotebookNode
    seconds: float
    error: str | None = None

    def __post_init__(self) -> None:
        _validate.path(self.path, "path")
        if not isinstance(self.notebook, nbformat.NotebookNode):
            raise TypeError(f"notebook must be an nbformat.NotebookNode, got "
                            f"{type(self.notebook).__name__}")
        _validate.real(self.seconds, "seconds", low=0)
        if self.error is not None:
            _validate.text(self.error, "error")


def _settings(notebook: nbformat.NotebookNode, timeout: int | None,
              allow_errors: bool) -> tuple[int | None, bool]:
    """Timeout and allow_errors, overridden by the notebook's ``execution`` metadata (as
    jupyter-cache does for myst-nb)."""
    execution = notebook.metadata.get("execution", {})
    return execution.get("timeout", timeout), execution.get("allow_errors", allow_errors)


async def _execute_one(path: Path, *, timeout: int | None, allow_errors: bool,
                       env: Mapping[str, str], record_timing: bool) -> Execution:
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    start = time.perf_counter()
    for attempt in (1, 2):
        notebook = nbformat.read(path, as_version=4)
        timeout, allow_errors = _settings(notebook, timeout, allow_errors)
        client = NotebookClient(notebook, timeout=timeout, allow_errors=allow_errors,
                                record_timing=record_timing,
                                resources={"metadata": {"path": str(path.parent)}})
        try:
            await client.async_execute(env=dict(env))
        except (CellExecutionError, CellTimeoutError) as error:
            return Execution(path, notebook, time.perf_counter() - start, str(error))
        except (RuntimeError, DeadKernelError) as error:
            # A kernel that dies while starting (e.g. another process took the TCP port it was
            # given: jupyter_client picks free ports before the kernel binds them) is started
            # once more; a notebook that ran a cell is not.
            started = any(cell.get("execution_count") for cell in notebook.cells
                          if cell.cell_type == "code")
            if attempt == 2 or started:
                return Execution(path, notebook, time.perf_counter() - start,
                                 f"{type(error).__name__}: {error}")
        else:
            return Execution(path, notebook, time.perf_counter() - start)
    raise AssertionError("unreachable")


def execute_notebooks(paths: Iterable[str | Path], *, jobs: int = DEFAULT_JOBS,
                      timeout: int | None = 120, allow_errors: bool = False,
                      env: Mapping[str, str] | None = None,
                      record_timing: bool = False) -> list[Execution]:
    """Execute the notebooks at ``paths``, ``jobs`` at a time; return them in the given order.

    Each runs in a fresh kernel (the one its metadata names) in its own folder, with the
    environment of this process plus ``env``. With ``jobs > 1`` the kernels get
    ``OMP_NUM_THREADS=1`` unless that is set (see the module docstring). An error in a cell
    does not raise: it is returned in ``Execution.error``.
    """
    if isinstance(paths, str | bytes) or not isinstance(paths, Iterable):
        raise TypeError(f"paths must be a list of notebook paths, got {type(paths).__name__}")
    paths = [_validate.path(path, "paths[k]") for path in paths]
    if isinstance(jobs, bool) or not isinstance(jobs, int) or not 1 <= jobs <= 64:
        raise ValueError(f"jobs must be an int >= 1 (and at most 64), got {jobs!r}")
    if timeout is not None:
        timeout = _validate.positive_int(timeout, "timeout", high=86_400)
    allow_errors = _validate.boolean(allow_errors, "allow_errors")
    if env is not None:
        _validate.mapping(env, "env", nonempty=False)
    record_timing = _validate.boolean(record_timing, "record_timing")
    paths = [Path(path) for path in paths]
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be an int >= 1, got {jobs!r}")
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        raise ValueError(f"paths must be notebook files; not found: {missing}")
    kernel_env = {**os.environ, **(env or {})}
    if jobs > 1:
        kernel_env.setdefault("OMP_NUM_THREADS", "1")

    async def run_all() -> list[Execution]:
        slots = asyncio.Semaphore(jobs)

        async def run(path: Path) -> Execution:
            async with slots:
                return await _execute_one(path, timeout=timeout, allow_errors=allow_errors,
                                          env=kernel_env, record_timing=record_timing)

        return list(await asyncio.gather(*(run(path) for path in paths)))

    try:
        asyncio.get_running_loop()
    except RuntimeError:  # no event loop runs in this thread: the usual case
        return asyncio.run(run_all())
    with ThreadPoolExecutor(1) as thread:  # e.g. inside Jupyter: run in a thread of its own
        return thread.submit(asyncio.run, run_all()).result()


def execute_missing(cache, paths: Iterable[str | Path], *, jobs: int = DEFAULT_JOBS,
                    timeout: int | None = 120, allow_errors: bool = False,
                    log=print) -> list[Execution]:
    """Execute the notebooks at ``paths`` that ``cache`` does not hold, ``jobs`` at a time,
    and store those that ran without error; return the executions."""
    if isinstance(paths, str | bytes) or not isinstance(paths, Iterable):
        raise TypeError(f"paths must be a list of notebook paths, got {type(paths).__name__}")
    paths = [_validate.path(path, "paths[k]") for path in paths]
    if isinstance(jobs, bool) or not isinstance(jobs, int) or not 1 <= jobs <= 64:
        raise ValueError(f"jobs must be an int >= 1 (and at most 64), got {jobs!r}")
    if timeout is not None:
        timeout = _validate.positive_int(timeout, "timeout", high=86_400)
    allow_errors = _validate.boolean(allow_errors, "allow_errors")
    _validate.function(log, "log")
    from jupyter_cache.base import CacheBundleIn

    todo = []
    for path in paths:
        try:
            cache.match_cache_notebook(nbformat.read(path, as_version=4))
        except KeyError:
            todo.append(Path(path))
    if not todo:
        return []
    log(f"shiftlab: executing {len(todo)} notebooks that are not cached, {jobs} at a time")
    start = time.perf_counter()
    executions = execute_notebooks(todo, jobs=jobs, timeout=timeout, allow_errors=allow_errors)
    for done in executions:
        if done.error is None:
            cache.cache_notebook_bundle(
                CacheBundleIn(done.notebook, str(done.path),
                              data={"execution_seconds": done.seconds}),
                check_validity=False, overwrite=True)
            log(f"shiftlab: {done.path}: executed in {done.seconds:.1f} s and cached")
        else:
            log(f"shiftlab: {done.path}: failed after {done.seconds:.1f} s; not cached")
    log(f"shiftlab: executed {len(todo)} notebooks in {time.perf_counter() - start:.1f} s")
    return executions


def jobs_setting(configured: object) -> int:
    """The number of notebooks to execute at a time: ``SHIFTLAB_EXECUTION_JOBS`` if set, else
    ``configured``."""
    if JOBS_ENV not in os.environ:
        _validate.positive_int(configured, "configured", high=64)
    value = os.environ.get(JOBS_ENV, configured)
    try:
        jobs = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        jobs = 0
    if isinstance(value, bool) or jobs < 1:
        raise ValueError(f"{JOBS_ENV} / shiftlab_execution_jobs must be an int >= 1, "
                         f"got {value!r}")
    return jobs


# --- the Sphinx extension ----------------------------------------------------------------

def _key_the_cache(app) -> None:
    config = app.env.mystnb_config
    if config.execution_mode == "cache":
        from sphinx.util import logging

        # hashed once per build: _execute_before_reading reuses it
        app.shiftlab_code_key = code_key()
        cache, app.shiftlab_code_changed = _keyed_cache(
            _validate.path(config.execution_cache_path, "execution_cache_path"),
            app.shiftlab_code_key)
        logging.getLogger(__name__).info(
            f"shiftlab: jupyter-cache at {cache.path} keyed on shiftlab's code "
            f"({len(cache.list_cache_records())} notebooks cached)")


def _reread_notebooks(app, env, added: set[str], changed: set[str], removed: set[str]
                     ) -> list[str]:
    """Sphinx's ``env-get-outdated``: when shiftlab's code changed since the cache was filled,
    every notebook page is read, and so executed, again, not only the edited ones; otherwise an
    incremental build would keep the outputs that the old code gave on the pages not edited."""
    if not getattr(app, "shiftlab_code_changed", False):
        return []
    done = set(added) | set(changed) | set(removed)
    return sorted(doc for doc in env.found_docs - done
                  if Path(env.doc2path(doc)).suffix == ".ipynb")


def _execute_before_reading(app, env, docnames: list[str]) -> None:
    config = env.mystnb_config
    if config.execution_mode != "cache" or config.execution_in_temp:
        return  # (run_in_temp: myst-nb executes each notebook itself, in a temporary folder)
    from sphinx.util import logging

    logger = logging.getLogger(__name__)
    paths = []
    for docname in sorted(docnames):
        path = Path(env.doc2path(docname))
        # myst-nb's own rule for execution_excludepatterns
        excluded = any(PurePosixPath(path.as_posix()).match(pattern)
                       for pattern in config.execution_excludepatterns)
        if path.suffix == ".ipynb" and not excluded:
            paths.append(path)
    execute_missing(use_cache(config.execution_cache_path,
                              getattr(app, "shiftlab_code_key", None)), paths,
                    jobs=jobs_setting(app.config.shiftlab_execution_jobs),
                    timeout=config.execution_timeout,
                    allow_errors=config.execution_allow_errors, log=logger.info)


def setup(app) -> dict[str, object]:
    """Sphinx entry point: key the jupyter-cache, fill it two at a time before reading."""
    app.add_config_value("shiftlab_execution_jobs", DEFAULT_JOBS, "env", int)
    app.connect("builder-inited", _key_the_cache, priority=600)  # after myst-nb's (500)
    app.connect("env-get-outdated", _reread_notebooks)
    app.connect("env-before-read-docs", _execute_before_reading)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
