"""The REST API: token authentication, the catalogue, enrolment and progress with page scoping."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from courses.models import Enrollment
from tests.courses.factories import RunFactory
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def _client(user: Any) -> APIClient:
    client = APIClient()
    token, _created = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def test_token_is_issued_for_email_and_password(learner: Any) -> None:
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": learner.email, "password": TEST_PASSWORD}
    )
    assert response.status_code == 200
    assert response.json()["token"] == Token.objects.get(user=learner).key


def test_catalogue_lists_open_courses() -> None:
    run = RunFactory()
    RunFactory(status="draft")
    data = APIClient().get("/api/v1/courses/", {"language": "es"}).json()
    assert [c["code"] for c in data["results"]] == [run.course.code]
    assert data["results"][0]["runs"][0]["code"] == run.code


def test_coordinator_enrols_own_officer_but_not_another_institutions(
    coordinator: Any, institution: Any, other_institution: Any
) -> None:
    # hosted by the coordinator's institution: enrolling others needs courses.manage_run on the
    # run, as the enrol-officers page
    run = RunFactory(self_enrolment=False, host_institution=institution)
    own = UserFactory(institution=institution)
    foreign = UserFactory(institution=other_institution)
    client = _client(coordinator)
    created = client.post("/api/v1/enrollments/", {"run": run.code, "user": own.email})
    assert created.status_code == 201, created.content
    assert created.json()["status"] == "active"
    refused = client.post("/api/v1/enrollments/", {"run": run.code, "user": foreign.email})
    assert refused.status_code == 403
    assert "user" in refused.json()
    listed = client.get("/api/v1/enrollments/").json()["results"]
    assert [row["user"] for row in listed] == [own.email]


def test_a_learner_sees_only_their_own_enrolments_and_progress(learner: Any) -> None:
    run = RunFactory()
    mine = Enrollment.objects.create(user=learner, run=run, version=run.version)
    other = Enrollment.objects.create(user=UserFactory(), run=run, version=run.version)
    client = _client(learner)
    rows = client.get("/api/v1/enrollments/").json()["results"]
    assert [r["registration"] for r in rows] == [str(mine.registration)]
    assert client.get(f"/api/v1/enrollments/{mine.registration}/progress/").status_code == 200
    assert client.get(f"/api/v1/enrollments/{other.registration}/progress/").status_code == 404


def test_bad_run_is_refused_naming_the_field(learner: Any) -> None:
    response = _client(learner).post("/api/v1/enrollments/", {"run": "no-such-run"})
    assert response.status_code == 400
    assert "run" in response.json()


def test_anonymous_cannot_list_enrolments() -> None:
    assert APIClient().get("/api/v1/enrollments/").status_code in (401, 403)


def test_schema_documents_the_courses_api(client: Any) -> None:
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/v1/enrollments/" in response.content


def test_a_new_password_ends_the_api_tokens_of_the_old_one(learner: Any) -> None:
    client = _client(learner)
    assert client.get("/api/v1/enrollments/").status_code == 200
    learner.full_name = "Renamed"
    learner.save()  # a save without a new password keeps the token
    assert client.get("/api/v1/enrollments/").status_code == 200
    learner.set_password("a-new-pass-2026")
    learner.save()
    assert not Token.objects.filter(user=learner).exists()
    assert client.get("/api/v1/enrollments/").status_code == 401
    fresh = APIClient().post(
        "/api/v1/auth/token/", {"username": learner.email, "password": "a-new-pass-2026"}
    )
    assert fresh.status_code == 200


def test_signing_in_with_an_older_hash_keeps_the_token(learner: Any) -> None:
    # check_password saves a rehash of the same password (an upgraded hasher): not a new one
    from django.contrib.auth.hashers import make_password

    learner.password = make_password(TEST_PASSWORD, hasher="pbkdf2_sha256")
    learner.save()
    client = _client(learner)
    assert learner.check_password(TEST_PASSWORD)
    learner.refresh_from_db()
    assert not learner.password.startswith("pbkdf2_sha256$")
    assert client.get("/api/v1/enrollments/").status_code == 200
