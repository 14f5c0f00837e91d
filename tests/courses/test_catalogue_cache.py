"""The catalogue's body is kept in Redis and in the worker's memory, never longer than
CATALOGUE_CACHE_SECONDS in all: a repeated visit reads neither the database nor Redis."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from courses import caching
from courses.views import CATALOGUE_CACHE_SECONDS
from tests.courses.factories import CourseFactory, RunFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_repeated_catalogue_visit_reads_neither_the_database_nor_redis(
    client: Client, django_assert_num_queries: Any
) -> None:
    run = RunFactory(course=CourseFactory())
    url = reverse("courses:catalogue")
    first = client.get(url, {"language": "es"}).text
    assert run.course.code in first
    with (
        mock.patch.object(cache, "get", side_effect=AssertionError("Redis read")),
        mock.patch.object(cache, "get_many", side_effect=AssertionError("Redis read")),
        django_assert_num_queries(0),
    ):
        again = client.get(url, {"language": "es"})
    assert again.status_code == 200
    assert again.text.count(run.course.code) == first.count(run.course.code)
    assert 'role="search"' in again.text
    assert '<option value="es" lang="es" selected>' in again.text


def test_each_language_and_address_has_its_own_page(client: Client) -> None:
    RunFactory(
        course=CourseFactory(title={"en": "Community policing", "es": "Policía comunitaria"})
    )
    url = reverse("courses:catalogue")
    assert "Community policing" in client.get(url).text
    client.force_login(UserFactory(preferred_language="es"))
    assert "Policía comunitaria" in client.get(url).text
    assert 'value="zzz-none"' in client.get(url, {"q": "zzz-none"}).text
    client.logout()
    assert "Community policing" in client.get(url).text


def test_a_copy_never_outlives_the_bound(monkeypatch: Any) -> None:
    """A value taken from Redis late in its life expires in the process when it does in Redis;
    a value built from an entry with an earlier bound inherits that bound."""
    now = [1000.0]
    monkeypatch.setattr(caching.time, "time", lambda: now[0])
    calls: list[int] = []

    def compute() -> tuple[int, float]:
        calls.append(1)
        return len(calls), float("inf")

    assert caching.bounded_get_or_set("t:k", 60, compute) == (1, 1060.0)
    caching.clear_local()  # another worker: it finds the entry in Redis
    now[0] = 1050.0
    assert caching.bounded_get_or_set("t:k", 60, compute) == (1, 1060.0)
    now[0] = 1059.0
    assert caching.bounded_get_or_set("t:k", 60, compute)[0] == 1
    assert len(calls) == 1
    now[0] = 1060.0
    assert caching.bounded_get_or_set("t:k", 60, compute) == (2, 1120.0)
    assert caching.bounded_get_or_set("t:early", 60, lambda: ("x", 1070.0)) == ("x", 1070.0)
    assert CATALOGUE_CACHE_SECONDS == 60


def test_the_process_keeps_a_bounded_number_of_pages(monkeypatch: Any) -> None:
    monkeypatch.setattr(caching, "LOCAL_MAX_ENTRIES", 5)
    for n in range(20):
        caching.bounded_get_or_set(f"t:n{n}", 60, lambda n=n: (n, float("inf")))
    assert len(caching._local) <= 5
