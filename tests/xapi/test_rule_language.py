"""The LRS answers bad input in the caller's language (Accept-Language): the rule of its error
is translated, the field keeps its xAPI name."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from lms.xapi.models import Statement
from tests.xapi.conftest import LRS, statement

pytestmark = pytest.mark.django_db

ACTIVITY = "http://example.org/activities/patrol"
AGENT = json.dumps({"objectType": "Agent", "mbox": "mailto:officer@example.org"})


@pytest.mark.parametrize(
    ("language", "body", "field", "rule"),
    [
        (
            "es",
            statement(actor={"mbox": "officer@example.org"}),
            "actor.mbox",
            "debe ser un IRI mailto:",
        ),
        (
            "fr",
            statement(result={"score": {"scaled": 2}}),
            "result.score.scaled",
            "doit être compris entre -1 et 1",
        ),
        (
            "pt-BR",
            statement(id="1234"),
            "id",
            "deve ser um UUID (8-4-4-4-12 hexadecimal, variante 2)",
        ),
    ],
)
def test_a_bad_statement_is_refused_in_the_callers_language(
    lrs: LRS, language: str, body: Any, field: str, rule: str
) -> None:
    response = lrs.post("statements", body, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 400
    assert response.json()["error"] == {"field": field, "rule": rule}
    assert not Statement.objects.exists()


def test_a_rule_with_a_number_is_translated_around_it(lrs: LRS) -> None:
    too_long = statement(verb={"id": "http://example.org/verbs/" + "v" * 600})
    response = lrs.post("statements", too_long, HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 400
    assert response.json()["error"] == {
        "field": "verb.id",
        "rule": "debe tener como máximo 512 caracteres",
    }


def test_the_message_of_a_batch_names_the_statement_and_the_translated_rule(lrs: LRS) -> None:
    batch = [statement(), statement(object={"id": "no iri"})]
    response = lrs.post("statements", batch, HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 400
    assert response.json() == {
        "error": {"field": "[1].object.id", "rule": "doit être un IRI absolu"},
        "message": "[1].object.id : doit être un IRI absolu",
    }
    assert not Statement.objects.exists()


def test_the_statements_resource_refuses_its_parameters_in_the_callers_language(
    lrs: LRS,
) -> None:
    posted = lrs.post("statements?color=red", statement(), HTTP_ACCEPT_LANGUAGE="pt-BR")
    assert posted.status_code == 400
    assert posted.json()["error"] == {"field": "color", "rule": "não é permitido em POST"}
    combined = lrs.get(
        "statements",
        {"statementId": str(uuid.uuid4()), "verb": "http://example.org/verbs/x"},
        HTTP_ACCEPT_LANGUAGE="es",
    )
    assert combined.status_code == 400
    assert combined.json()["error"] == {
        "field": "verb",
        "rule": "no se puede combinar con statementId",
    }


@pytest.mark.parametrize(
    ("language", "params", "field", "rule"),
    [
        ("es", {"color": "red"}, "color", "no es un parámetro de este recurso"),
        ("fr", {"registration": "nope"}, "registration", "doit être un UUID"),
        ("pt-BR", {"agent": "{not json"}, "agent", "não é um JSON válido"),
    ],
)
def test_a_document_resource_refuses_bad_parameters_in_the_callers_language(
    lrs: LRS, language: str, params: dict[str, str], field: str, rule: str
) -> None:
    query = {"activityId": ACTIVITY, "agent": AGENT, "stateId": "bookmark", **params}
    response = lrs.get("activities/state", query, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 400
    assert response.json()["error"] == {"field": field, "rule": rule}


def test_a_missing_document_is_answered_in_the_callers_language(lrs: LRS) -> None:
    query = {"activityId": ACTIVITY, "agent": AGENT, "stateId": "bookmark"}
    response = lrs.get("activities/state", query, HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 404
    assert response.json()["error"] == {"field": "stateId", "rule": "document introuvable"}


def test_without_accept_language_the_rules_stay_english(lrs: LRS) -> None:
    response = lrs.post("statements", statement(actor={"mbox": "officer@example.org"}))
    assert response.status_code == 400
    assert response.json() == {
        "error": {"field": "actor.mbox", "rule": "must be a mailto: IRI"},
        "message": "actor.mbox: must be a mailto: IRI",
    }
