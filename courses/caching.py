"""Forget the cached outline and content of a course version when an author changes them.

The lesson player reads them from the cache (courses.selectors.lesson_outline, player_lesson);
these receivers keep the cache true to the database. Writes that bypass signals (bulk_create,
QuerySet.update) happen only when content is first loaded, before anything was cached, and the
entries expire after CONTENT_CACHE_SECONDS anyway.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save

from courses.models import Lesson, Module
from courses.selectors import lesson_cache_key, outline_cache_key


def forget_lesson(sender: Any, instance: Lesson, **kwargs: Any) -> None:
    cache.delete_many([outline_cache_key(instance.version_id), lesson_cache_key(instance.pk)])


def forget_module(sender: Any, instance: Module, **kwargs: Any) -> None:
    # A module's position orders its lessons in the outline.
    cache.delete(outline_cache_key(instance.version_id))


def connect() -> None:
    """Connect the receivers (called from CoursesConfig.ready())."""
    for name, signal in (("saved", post_save), ("deleted", post_delete)):
        signal.connect(forget_lesson, sender=Lesson, dispatch_uid=f"courses.lesson_{name}")
        signal.connect(forget_module, sender=Module, dispatch_uid=f"courses.module_{name}")
