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
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    baseline = len(queries)
    _courses(6)
    cache.clear()
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
    cache.clear()
    client.get(reverse("courses:catalogue"))
    with django_assert_num_queries(0):
        assert client.get(reverse("courses:catalogue")).status_code == 200
