"""Forget the cached outline and content of a course version when an author changes them.

The lesson player reads them from the cache (courses.selectors.lesson_outline, player_lesson);
these receivers keep the cache true to the database, and drop this process's copies of frozen
versions' content (which only a row saved under a reused id can contradict: test databases).
Writes that bypass signals (bulk_create, QuerySet.update) happen only when content is first
loaded, before anything was cached, and the entries expire after CONTENT_CACHE_SECONDS anyway.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save

from courses.models import Lesson, Module
from courses.selectors import forget_frozen, lesson_cache_key, outline_cache_key


def forget_lesson(sender: Any, instance: Lesson, **kwargs: Any) -> None:
    keys = [outline_cache_key(instance.version_id), lesson_cache_key(instance.pk)]
    cache.delete_many(keys)
    forget_frozen(keys)


def forget_module(sender: Any, instance: Module, **kwargs: Any) -> None:
    # A module's position orders its lessons in the outline.
    key = outline_cache_key(instance.version_id)
    cache.delete(key)
    forget_frozen([key])


def connect() -> None:
    """Connect the receivers (called from CoursesConfig.ready())."""
    for name, signal in (("saved", post_save), ("deleted", post_delete)):
        signal.connect(forget_lesson, sender=Lesson, dispatch_uid=f"courses.lesson_{name}")
        signal.connect(forget_module, sender=Module, dispatch_uid=f"courses.module_{name}")


# In-process layer ----------------------------------------------------------------------------
#
# The catalogue is read on every visit and may be up to CATALOGUE_CACHE_SECONDS stale; keeping
# what Redis holds in the worker's memory too spares a round trip per request. Each entry carries
# the moment it stops being valid (set when it was computed), and both layers honour that moment,
# so the in-process copy is never older than the bound: a copy taken from Redis late in its life
# expires when the Redis entry does.

LOCAL_MAX_ENTRIES = 512
_local: dict[str, tuple[float, Any]] = {}


def clear_local() -> None:
    """Forget this process's copies (tests; the Redis entries expire on their own)."""
    _local.clear()


def _remember(key: str, expires: float, value: Any) -> None:
    if len(_local) >= LOCAL_MAX_ENTRIES:
        now = time.time()
        for stale in [k for k, (until, _v) in _local.items() if until <= now]:
            del _local[stale]
        while len(_local) >= LOCAL_MAX_ENTRIES:
            del _local[next(iter(_local))]
    _local[key] = (expires, value)


def bounded_get_or_set(
    key: str, seconds: float, compute: Callable[[], tuple[Any, float]]
) -> tuple[Any, float]:
    """(value, valid until) under `key` from this process, else Redis, else `compute()`, never
    older than `seconds`. compute() returns (value, latest moment it may be used until), for a
    value built from other cached values whose own bound is earlier (else float("inf"))."""
    now = time.time()
    entry = _local.get(key)
    if entry is not None and entry[0] > now:
        return entry[1], entry[0]
    entry = cache.get(key)
    if entry is None or entry[0] <= now:
        value, until = compute()
        entry = (min(now + seconds, until), value)
        cache.set(key, entry, max(1, int(entry[0] - now)))
    _remember(key, entry[0], entry[1])
    return entry[1], entry[0]
