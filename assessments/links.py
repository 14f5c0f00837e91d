"""Addresses of an assessment's pages for one enrolment: the enrolment's xAPI registration
names the run in which the learner takes it (a learner may hold two enrolments of a version)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse


def with_registration(url: str, registration: Any) -> str:
    """``url`` of an assessment page, for the enrolment with this registration."""
    return f"{url}?registration={registration}"


def overview_url(assessment_id: int, registration: Any) -> str:
    """The assessment's page in the run of the enrolment with this registration."""
    return with_registration(reverse("assessments:overview", args=[assessment_id]), registration)
