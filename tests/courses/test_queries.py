"""List pages issue a constant number of queries however many rows they show."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from courses.models import Enrollment
from tests.courses.factories import CourseFactory, RunFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _clear() -> None:
    """Forget the cached catalogue everywhere (Redis and this process's copies)."""
    from courses.caching import clear_local

    cache.clear()
    clear_local()


def _count(client: Client, url: str) -> int:
    """Queries of a request after a warm-up request (so per-session caches are equally warm)."""
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def _courses(n: int) -> None:
    for _ in range(n):
        RunFactory(course=CourseFactory())


def test_catalogue_queries_do_not_grow(client: Client, django_assert_num_queries: Any) -> None:
    url = reverse("courses:catalogue")
    _courses(3)
    client.get(url)
    _clear()
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    baseline = len(queries)
    _courses(6)
    _clear()
    with django_assert_num_queries(baseline):
        client.get(url)


def test_my_learning_queries_do_not_grow(
    client: Client, learner: Any, django_assert_num_queries: Any
) -> None:
    client.force_login(learner)
    url = reverse("courses:my_learning")

    def enrol(n: int) -> None:
        for _ in range(n):
            run = RunFactory(course=CourseFactory())
            Enrollment.objects.create(user=learner, run=run, version=run.version)

    enrol(3)
    baseline = _count(client, url)
    enrol(6)
    with django_assert_num_queries(baseline):
        client.get(url)


def test_roster_queries_do_not_grow(
    client: Client, instructor: Any, django_assert_num_queries: Any
) -> None:
    from tests.courses.factories import assign_instructor

    run = RunFactory()
    assign_instructor(run, instructor)
    client.force_login(instructor)
    url = reverse("courses:roster", args=[run.code])

    def enrol(n: int) -> None:
        for _ in range(n):
            Enrollment.objects.create(user=UserFactory(), run=run, version=run.version)

    enrol(3)
    baseline = _count(client, url)
    enrol(6)
    with django_assert_num_queries(baseline):
        client.get(url)


def test_a_cached_catalogue_runs_no_query(client: Client, django_assert_num_queries: Any) -> None:
    _courses(2)
    _clear()
    client.get(reverse("courses:catalogue"))
    with django_assert_num_queries(0):
        assert client.get(reverse("courses:catalogue")).status_code == 200


def _player(learner: Any, lessons: int) -> tuple[Enrollment, list[int]]:
    from tests.courses.factories import enrol_in_text_course

    return enrol_in_text_course(learner, lessons)


@pytest.mark.parametrize("lessons", [3, 30])
def test_lesson_page_queries_are_few_and_do_not_grow(
    client: Client,
    learner: Any,
    lessons: int,
    django_assert_max_num_queries: Any,
    require_postgres: None,  # the one-statement read is PostgreSQL's; SQLite takes two
) -> None:
    """A learner's first view of a text lesson (which completes it and records two statements)
    and a revisit cost a small constant number of queries, however long the course and however
    far the learner got. The counts include the two SAVEPOINT lines of the test transaction, the
    player's unlocked read before a first view, and the platform's reads (user, roles,
    notifications) whether or not they are cached. A revisit's own cost is in test_player."""
    enrollment, ids = _player(learner, lessons)
    client.force_login(learner)
    for lesson_id in ids[:-3]:
        client.get(reverse("courses:lesson", args=[enrollment.registration, lesson_id]))
    # The outline and content are read from the database again (the session stays cached).
    from courses.selectors import lesson_cache_key, outline_cache_key

    cache.delete_many([outline_cache_key(enrollment.version_id), *map(lesson_cache_key, ids)])
    url = reverse("courses:lesson", args=[enrollment.registration, ids[-3]])
    with django_assert_max_num_queries(13):
        assert client.get(url).status_code == 200
    with django_assert_max_num_queries(4):
        assert client.get(url).status_code == 200
    # First view with the content cached (another learner's view filled it).
    with django_assert_max_num_queries(12):
        page = client.get(reverse("courses:lesson", args=[enrollment.registration, ids[-2]]))
    assert page.status_code == 200
    # The last lesson completes the course (rules checked once, events recorded).
    last = client.get(reverse("courses:lesson", args=[enrollment.registration, ids[-1]]))
    enrollment.refresh_from_db()
    assert enrollment.progress_pct == 100
    assert enrollment.status == Enrollment.Status.COMPLETED
    assert len(last.content) < 100 * 1024


def test_my_learning_and_the_catalogue_stay_small(
    client: Client, learner: Any, django_assert_max_num_queries: Any
) -> None:
    """Besides not growing, the list pages stay within a small bound: My learning 5 queries
    (session user, count, page, scope, notifications), an uncached catalogue 6."""
    for _ in range(4):
        run = RunFactory(course=CourseFactory())
        Enrollment.objects.create(user=learner, run=run, version=run.version)
    client.force_login(learner)
    client.get(reverse("courses:my_learning"))
    with django_assert_max_num_queries(5):
        assert client.get(reverse("courses:my_learning")).status_code == 200
    client.logout()
    _clear()
    with django_assert_max_num_queries(6):
        assert client.get(reverse("courses:catalogue")).status_code == 200
