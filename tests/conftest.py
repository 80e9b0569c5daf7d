"""Test configuration of the unit and property tests."""

from hypothesis import settings

# Property tests explore many cases, but the same ones on every run: CI is deterministic.
settings.register_profile("course", deadline=None, derandomize=True, max_examples=60)
settings.load_profile("course")
