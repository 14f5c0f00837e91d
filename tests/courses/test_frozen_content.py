"""A frozen version's outline and lessons never change (edits make a new version), so each
process keeps them in memory after reading them once: a lesson page then asks Redis only for the
session. An unfrozen version's content is read from the cache every time, so that an author's
edit shows at once; the receivers drop a process's copies of rows saved again."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from courses import selectors, services
from courses.models import CourseVersion, Enrollment, Lesson
from tests.courses.factories import CourseFactory, RunFactory, make_version

pytestmark = pytest.mark.django_db


def _enrolment(learner: Any, *, frozen: bool) -> tuple[Enrollment, list[int]]:
    course = CourseFactory()
    make_version(course, lessons=3)
    run = RunFactory(course=course)
    if frozen:
        services.freeze_version(version=run.version)
    enrollment = Enrollment.objects.create(user=learner, run=run, version=run.version)
    ids = list(
        Lesson.objects.filter(version=run.version).order_by("position").values_list("pk", flat=True)
    )
    return enrollment, ids


def _keys(enrollment: Enrollment, ids: list[int]) -> list[str]:
    return [
        selectors.outline_cache_key(enrollment.version_id),
        *map(selectors.lesson_cache_key, ids),
    ]


def _lesson_reads(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if '"courses_lesson"' in q["sql"]]


def test_a_frozen_versions_content_is_read_once_per_process(client: Client, learner: Any) -> None:
    enrollment, ids = _enrolment(learner, frozen=True)
    client.force_login(learner)
    url = reverse("courses:lesson", args=[enrollment.registration, ids[0]])
    assert client.get(url).status_code == 200
    # Gone from Redis: the next view neither reads the database for it nor puts it back there.
    cache.delete_many(_keys(enrollment, ids))
    with CaptureQueriesContext(connection) as queries:
        page = client.get(url)
    assert page.status_code == 200
    assert 'aria-current="page"' in page.content.decode()
    assert _lesson_reads(queries) == []
    assert cache.get(selectors.outline_cache_key(enrollment.version_id)) is None
    outline, lesson = selectors.player_content(version_id=enrollment.version_id, lesson_id=ids[0])
    assert outline.frozen
    assert [item.pk for item in outline] == ids
    assert lesson is not None
    assert lesson.pk == ids[0]


def test_an_unfrozen_versions_content_is_not_kept(client: Client, learner: Any) -> None:
    enrollment, ids = _enrolment(learner, frozen=False)
    client.force_login(learner)
    url = reverse("courses:lesson", args=[enrollment.registration, ids[0]])
    assert client.get(url).status_code == 200
    assert not selectors.lesson_outline(version_id=enrollment.version_id).frozen
    cache.delete_many(_keys(enrollment, ids))
    # An edit that bypasses the receivers still shows: nothing was kept in memory.
    Lesson.objects.filter(pk=ids[0]).update(title={"en": "Rewritten title", "es": "Reescrito"})
    with CaptureQueriesContext(connection) as queries:
        page = client.get(url)
    assert page.status_code == 200
    assert _lesson_reads(queries)
    assert "Rewritten title" in page.content.decode() or "Reescrito" in page.content.decode()


def test_a_lesson_of_another_version_is_refused_from_memory(learner: Any) -> None:
    mine, my_ids = _enrolment(learner, frozen=True)
    other, other_ids = _enrolment(learner, frozen=True)
    selectors.player_content(version_id=mine.version_id, lesson_id=my_ids[0])
    selectors.player_content(version_id=other.version_id, lesson_id=other_ids[0])
    # Both are in memory now; the pairing of a version with another's lesson stays refused.
    outline, lesson = selectors.player_content(version_id=mine.version_id, lesson_id=other_ids[0])
    assert [item.pk for item in outline] == my_ids
    assert lesson is None
    assert selectors.player_lesson(lesson_id=other_ids[0], version_id=mine.version_id) is None


def test_a_saved_row_drops_the_copies(learner: Any) -> None:
    enrollment, ids = _enrolment(learner, frozen=True)
    selectors.player_content(version_id=enrollment.version_id, lesson_id=ids[0])
    # A save (only possible here by going around the services, which refuse a frozen version)
    # is what the receivers hear: the copies go, and the next read sees the row as saved.
    lesson = Lesson.objects.get(pk=ids[0])
    lesson.title = {"en": "Saved again"}
    lesson.save()
    _outline, fresh = selectors.player_content(version_id=enrollment.version_id, lesson_id=ids[0])
    assert fresh is not None
    assert fresh.title == {"en": "Saved again"}


def test_the_version_freezes_after_its_outline_was_cached(learner: Any) -> None:
    """An outline read while the version was editable stays unfrozen in the cache: it is kept
    out of memory until the cache entry is read again from the database (conservative)."""
    enrollment, ids = _enrolment(learner, frozen=False)
    assert not selectors.player_content(version_id=enrollment.version_id, lesson_id=ids[0])[
        0
    ].frozen
    CourseVersion.objects.filter(pk=enrollment.version_id).update(is_frozen=True)
    assert not selectors.player_content(version_id=enrollment.version_id, lesson_id=ids[0])[
        0
    ].frozen
    cache.delete(selectors.outline_cache_key(enrollment.version_id))
    assert selectors.player_content(version_id=enrollment.version_id, lesson_id=ids[0])[0].frozen


def test_the_memory_is_bounded(learner: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(selectors._frozen_local, "limit", 4)
    for _ in range(3):
        enrollment, ids = _enrolment(learner, frozen=True)
        selectors.player_content(version_id=enrollment.version_id, lesson_id=ids[0])
    assert len(selectors._frozen_local) == 4
    # The newest pair is among them.
    assert selectors.outline_cache_key(enrollment.version_id) in selectors._frozen_local
