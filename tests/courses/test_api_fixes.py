"""The REST API's enrolment, privacy and language: enrolling oneself without naming oneself, a
second enrolment told plainly, no way to probe who has an account, and answers in the caller's
language whether a token or a session authenticates them."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import translation
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from courses.models import Enrollment
from tests.courses.factories import RunFactory
from tests.factories import DonorFactory, RoleAssignmentFactory, UserFactory

pytestmark = pytest.mark.django_db
ENROL = "/api/v1/enrollments/"


def _client(user: Any) -> APIClient:
    client = APIClient()
    token, _created = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def _donor() -> Any:
    user = UserFactory()
    RoleAssignmentFactory(user=user, role="donor", donor=DonorFactory())
    return user


# Enrolling oneself (defect: `user` was required, a second try answered a unique-set error)


def test_a_learner_enrols_themself_without_naming_a_user(learner: Any) -> None:
    run = RunFactory()
    response = _client(learner).post(ENROL, {"run": run.code}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["user"] == learner.email
    assert response.json()["status"] == "active"
    assert Enrollment.objects.get(run=run).user == learner


def test_a_second_enrolment_is_refused_on_run_with_a_clear_message(learner: Any) -> None:
    run = RunFactory()
    client = _client(learner)
    assert client.post(ENROL, {"run": run.code}, format="json").status_code == 201
    again = client.post(ENROL, {"run": run.code}, format="json")
    assert again.status_code == 400
    assert again.json() == {"run": ["You are already enrolled in this run."]}
    assert Enrollment.objects.filter(run=run).count() == 1


def test_a_withdrawn_enrolment_is_reopened_by_enrolling_again(learner: Any) -> None:
    run = RunFactory()
    Enrollment.objects.create(
        user=learner, run=run, version=run.version, status=Enrollment.Status.WITHDRAWN
    )
    response = _client(learner).post(ENROL, {"run": run.code}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "active"


@pytest.mark.parametrize(
    ("run_options", "expected"),
    [({"requires_approval": True}, "pending"), ({"capacity": 1, "active_count": 1}, "waitlisted")],
)
def test_an_api_enrolment_follows_the_pages_rules(
    learner: Any, run_options: dict[str, Any], expected: str
) -> None:
    run = RunFactory(**run_options)
    response = _client(learner).post(ENROL, {"run": run.code}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["status"] == expected


def test_self_enrolment_closed_to_officers_is_refused_on_run(learner: Any) -> None:
    run = RunFactory(self_enrolment=False)
    response = _client(learner).post(ENROL, {"run": run.code}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["run"]
    assert not Enrollment.objects.filter(run=run).exists()


def test_a_coordinator_is_told_their_officer_is_already_enrolled(
    coordinator: Any, institution: Any
) -> None:
    run = RunFactory(host_institution=institution)  # a run the coordinator manages
    officer = UserFactory(institution=institution)
    client = _client(coordinator)
    first = client.post(ENROL, {"run": run.code, "user": officer.email}, format="json")
    assert first.status_code == 201, first.content
    again = client.post(ENROL, {"run": run.code, "user": officer.email.upper()}, format="json")
    assert again.status_code == 400
    assert again.json() == {"run": ["This officer is already enrolled in this run."]}


def test_the_schema_documents_user_as_optional(client: Any) -> None:
    schema = client.get("/api/schema/", {"format": "json"}).json()
    body = schema["paths"]["/api/v1/enrollments/"]["post"]["requestBody"]["content"]
    reference = body["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert schema["components"]["schemas"][reference]["required"] == ["run"]


# Privacy: no way to learn who has an account or an enrolment


@pytest.mark.parametrize("who", ["learner", "instructor", "donor"])
def test_who_may_not_enrol_others_gets_one_refusal_whatever_the_email(
    who: str, request: pytest.FixtureRequest, institution: Any
) -> None:
    caller = _donor() if who == "donor" else request.getfixturevalue(who)
    run = RunFactory()
    colleague = UserFactory(institution=institution)
    enrolled = UserFactory(institution=institution)
    Enrollment.objects.create(user=enrolled, run=run, version=run.version)
    client = _client(caller)
    answers = [
        client.post(ENROL, {"run": run.code, "user": email}, format="json")
        for email in ("nobody@example.org", colleague.email, enrolled.email, "not an email")
    ]
    assert {response.status_code for response in answers} == {403}
    assert {response.content for response in answers} == {
        b'{"user":["You may enrol only officers of your institution."]}'
    }
    assert not Enrollment.objects.filter(user=colleague).exists()


def test_a_coordinator_cannot_tell_a_foreign_officer_from_an_unknown_email(
    coordinator: Any, other_institution: Any
) -> None:
    run = RunFactory()
    foreign = UserFactory(institution=other_institution)
    foreign_enrolled = UserFactory(institution=other_institution)
    Enrollment.objects.create(user=foreign_enrolled, run=run, version=run.version)
    client = _client(coordinator)
    answers = [
        client.post(ENROL, {"run": run.code, "user": email}, format="json")
        for email in ("nobody@example.org", foreign.email, foreign_enrolled.email)
    ]
    assert {response.status_code for response in answers} == {403}
    assert {response.content for response in answers} == {
        b'{"user":["No officer you may enrol has this email."]}'
    }
    assert not Enrollment.objects.filter(user=foreign).exists()


def test_dps_enrols_any_officer_by_email(dps_admin: Any, other_institution: Any) -> None:
    run = RunFactory(self_enrolment=False)
    officer = UserFactory(institution=other_institution)
    unattached = UserFactory()
    client = _client(dps_admin)
    for person in (officer, unattached):
        response = client.post(ENROL, {"run": run.code, "user": person.email}, format="json")
        assert response.status_code == 201, response.content
        assert response.json()["user"] == person.email
    unknown = client.post(ENROL, {"run": run.code, "user": "nobody@example.org"}, format="json")
    assert unknown.status_code == 403
    assert unknown.json() == {"user": ["No officer you may enrol has this email."]}


def test_naming_oneself_enrols_oneself(learner: Any) -> None:
    run = RunFactory()
    response = _client(learner).post(
        ENROL, {"run": run.code, "user": learner.email.upper()}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["user"] == learner.email


# Messages: translated, naming no model; the caller's language


def _someone_elses_progress() -> str:
    run = RunFactory()
    other = Enrollment.objects.create(user=UserFactory(), run=run, version=run.version)
    return f"{ENROL}{other.registration}/progress/"


def test_another_persons_progress_is_not_found_without_naming_the_model(learner: Any) -> None:
    response = _client(learner).get(_someone_elses_progress())
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_malformed_json_is_refused_with_a_plain_message(learner: Any) -> None:
    response = _client(learner).post(
        ENROL, data=b'{"run":', content_type="application/json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "The request body is not valid JSON."}


def test_malformed_json_message_is_translated(learner: Any) -> None:
    learner.preferred_language = "es"
    learner.save(update_fields=["preferred_language"])
    response = _client(learner).post(ENROL, data=b"{", content_type="application/json")
    with translation.override("es"):
        expected = translation.gettext("The request body is not valid JSON.")
    assert response.json() == {"detail": expected}


def test_token_calls_answer_in_the_persons_preferred_language(learner: Any) -> None:
    learner.preferred_language = "pt"
    learner.save(update_fields=["preferred_language"])
    client = _client(learner)
    address = _someone_elses_progress()
    for accept in ("", "fr"):
        response = client.get(address, HTTP_ACCEPT_LANGUAGE=accept)
        assert response.json() == {"detail": "Não encontrado."}
        assert response["Content-Language"] == "pt"


def test_token_calls_of_a_person_without_preference_follow_the_browser(learner: Any) -> None:
    learner.preferred_language = ""
    learner.save(update_fields=["preferred_language"])
    response = _client(learner).get(_someone_elses_progress(), HTTP_ACCEPT_LANGUAGE="es")
    assert response.json() == {"detail": "No encontrado."}


@pytest.mark.parametrize(("preferred", "expected"), [("es", "No encontrado."), ("", "Non trouvé.")])
def test_session_calls_answer_in_the_preference_else_the_browser(
    learner: Any, preferred: str, expected: str
) -> None:
    learner.preferred_language = preferred
    learner.save(update_fields=["preferred_language"])
    client = APIClient()
    client.force_login(learner)
    response = client.get(_someone_elses_progress(), HTTP_ACCEPT_LANGUAGE="fr")
    assert response.json() == {"detail": expected}
