"""A pytest plugin for the subprocesses of tests/book/test_cpu_paths.py: the law tests with fewer
hypothesis cases, so that running them on several CPU paths stays cheap.

Loaded with ``-p law_profile`` (``tests/`` on the path) and ``--noconftest``: the law tests need
neither the book fixture nor nbval, whose imports would cost more than the tests.
"""

from hypothesis import settings

settings.register_profile("cpu-paths", deadline=None, derandomize=True, max_examples=4)
settings.load_profile("cpu-paths")
