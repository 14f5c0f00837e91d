"""Null characters are refused before any view (lms/input_guard.py): PostgreSQL stores none,
and a search box, a filter, a form or a statement holding one was a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, RequestFactory
from django.urls import reverse

from lms.input_guard import null_field

pytestmark = pytest.mark.django_db


def test_the_field_holding_it_is_found() -> None:
    rf = RequestFactory()
    assert null_field(rf.get("/courses/", {"q": "a\x00b"})) == "q"
    assert null_field(rf.get("/xapi/statements", {"agent": '{"mbox": "mailto:a\\u0000@b.c"}'})) == (
        "agent"
    )
    assert null_field(rf.get("/courses/", {"q": "policía"})) is None
    assert null_field(rf.post("/x/", {"title": "ok", "body": "x\x00"})) == "body"
    assert null_field(rf.post("/x/", '{"a": "b\\u0000"}', content_type="application/json")) == (
        "body"
    )
    # an escaped backslash followed by "u0000" is text, not a null character
    assert (
        null_field(rf.post("/x/", '{"a": "b\\\\u0000"}', content_type="application/json")) is None
    )
    # uploaded files and documents of other types may hold any byte
    upload = SimpleUploadedFile("scan.pdf", b"%PDF\x00\x01", content_type="application/pdf")
    assert null_field(rf.post("/x/", {"title": "ok", "file": upload})) is None
    assert null_field(rf.put("/x/", b"\x00\x01", content_type="application/octet-stream")) is None


def test_a_search_with_one_is_a_400_page_naming_the_field_in_the_readers_language(
    client: Client, learner: Any
) -> None:
    learner.preferred_language = "fr"
    learner.save(update_fields=["preferred_language"])
    client.force_login(learner)
    response = client.get(reverse("courses:catalogue"), {"q": "a\x00"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "q : un caractère nul n&#x27;est pas permis ici." in page
    assert 'role="alert"' in page
    assert client.get(reverse("courses:catalogue"), {"q": "droits"}).status_code == 200


def test_the_rest_api_answers_json_naming_the_field(client: Client) -> None:
    response = client.get("/api/v1/courses/", {"q": "\x00"}, HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 400
    body = response.json()
    assert body["error"]["field"] == "q"
    assert "nulo" in body["message"]


def test_json_nested_too_deep_is_refused_and_a_usual_body_is_not(client: Client) -> None:
    from lms.input_guard import MAX_DEPTH, problem

    rf = RequestFactory()
    deep = '{"run": ' + "[" * 5000 + "]" * 5000 + "}"
    found = problem(rf.post("/api/v1/enrollments/", deep, content_type="application/json"))
    assert found is not None
    assert found[0] == "body"
    brackets_in_text = json.dumps({"a": "[" * 5000, "b": [[1]] * 200})
    assert problem(rf.post("/x/", brackets_in_text, content_type="application/json")) is None
    at_limit = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert problem(rf.post("/x/", at_limit, content_type="application/json")) is None
    response = client.post("/api/v1/enrollments/", deep, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "body"
