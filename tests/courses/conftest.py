"""Fixtures of the courses tests."""

from __future__ import annotations

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_catalogue_cache() -> None:
    """The catalogue caches its results for a minute (in Redis and in the process): each test
    starts without them."""
    from courses.caching import clear_local

    cache.clear()
    clear_local()
