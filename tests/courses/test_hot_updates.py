"""Enrolment and progress UPDATEs of the player stay heap-only: the columns they write are in
no index (PostgreSQL then writes no index entry for them), and the resume point, which is no
longer a database foreign key, may outlive its lesson."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from courses.models import Enrollment, Lesson
from tests.courses.factories import CourseFactory, RunFactory, make_version

pytestmark = pytest.mark.django_db

# What a lesson visit, a move between lessons and a saved video position write.
VISIT_COLUMNS = {
    "courses_enrollment": {"last_lesson_id", "last_activity_at", "progress_pct"},
    "courses_lessonprogress": {"position_seconds", "status", "completed_at"},
}


def test_the_columns_a_visit_writes_are_in_no_index(require_postgres: None) -> None:
    with connection.cursor() as cursor:
        for table, columns in VISIT_COLUMNS.items():
            cursor.execute(
                "SELECT i.indexrelid::regclass::text, a.attname FROM pg_index i"
                " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
                " WHERE i.indrelid = %s::regclass",
                [table],
            )
            indexed = {(index, column) for index, column in cursor.fetchall()}
            assert indexed, table
            assert not {(i, c) for i, c in indexed if c in columns}, table
            cursor.execute("SELECT reloptions FROM pg_class WHERE oid = %s::regclass", [table])
            assert "fillfactor=90" in (cursor.fetchone()[0] or [])


def test_a_deleted_resume_point_falls_back_to_the_first_lesson_not_done(
    client: Client, learner: Any
) -> None:
    course = CourseFactory()
    make_version(course, lessons=3)
    run = RunFactory(course=course)
    enrollment = Enrollment.objects.create(user=learner, run=run, version=run.version)
    first, second, third = Lesson.objects.filter(version=run.version).order_by("position")
    client.force_login(learner)
    for lesson in (first, second):
        assert client.get(reverse("courses:lesson", args=[enrollment.registration, lesson.pk]))
    enrollment.refresh_from_db()
    assert enrollment.last_lesson_id == second.pk
    deleted = second.pk
    second.delete()
    enrollment.refresh_from_db()
    assert enrollment.last_lesson_id == deleted  # stale, and harmless:
    response = client.get(reverse("courses:resume", args=[enrollment.registration]))
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "courses:lesson", args=[enrollment.registration, third.pk]
    )
    assert client.get(response["Location"]).status_code == 200
    assert client.get(reverse("courses:my_learning")).status_code == 200
