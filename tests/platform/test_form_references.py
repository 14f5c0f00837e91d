"""Forms point assistive technology at text that is on the page: every id that an
aria-describedby, aria-labelledby or label's `for` names exists once, help texts carry the id
Django's widgets name (`<id>_helptext`), and a field's errors sit in one element (`<id>_error`)
however many there are."""

from __future__ import annotations

from collections import Counter
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: Counter[str] = Counter()
        self.refs: list[tuple[str, str]] = []
        self.attrs_of: dict[str, dict[str, str | None]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids[str(found["id"])] += 1
            self.attrs_of[str(found["id"])] = found
        for name in ("aria-describedby", "aria-labelledby", "aria-controls"):
            for target in (found.get(name) or "").split():
                self.refs.append((name, target))
        if tag == "label" and found.get("for"):
            self.refs.append(("for", str(found["for"])))


def references(html: str) -> _References:
    parser = _References()
    parser.feed(html)
    return parser


def assert_references_resolve(html: str) -> _References:
    page = references(html)
    assert [(name, target) for name, target in page.refs if target not in page.ids] == []
    assert [name for name, count in page.ids.items() if count > 1] == []
    return page


def test_the_password_form_points_at_its_help_and_its_errors(client: Client, learner: Any) -> None:
    client.force_login(learner)
    url = reverse("accounts:password_change")
    page = assert_references_resolve(client.get(url).text)
    assert "id_new_password1_helptext" in page.ids
    assert page.attrs_of["id_new_password1"]["aria-describedby"] == "id_new_password1_helptext"

    # Three rules broken at once (too short, too common, only digits): one element holds them.
    response = client.post(
        url, {"old_password": "wrong", "new_password1": "123", "new_password2": "123"}
    )
    assert response.status_code in (200, 400)
    html = response.text
    page = assert_references_resolve(html)
    new2 = page.attrs_of["id_new_password2"]
    assert new2["aria-invalid"] == "true"
    assert "id_new_password2_error" in str(new2["aria-describedby"]).split()
    errors = html.split('id="id_new_password2_error"', 1)[1].split("</div>", 1)[0]
    assert errors.count('<p class="error">') >= 2
    assert "id_old_password_error" in str(page.attrs_of["id_old_password"]["aria-describedby"])


def test_the_verification_form_points_at_its_help(client: Client) -> None:
    page = assert_references_resolve(client.get(reverse("certification:verify_form")).text)
    assert page.attrs_of["id_code"]["aria-describedby"] == "id_code_helptext"


def test_a_group_of_checkboxes_points_at_its_errors(
    client: Client, coordinator: Any, institution: Any
) -> None:
    client.force_login(coordinator)
    response = client.post(
        reverse("courses:author_new"),
        {
            "code": "dh-101", "credit_hours": "12.5", "default_language": "es",
            "languages": ["en"], "owner_institution": str(institution.pk),
            "title_es": "Derechos humanos",
        },
    )  # fmt: skip
    assert response.status_code == 400
    html = response.text
    page = assert_references_resolve(html)
    assert "id_languages_error" in page.ids
    fieldset = html.split('aria-describedby="id_languages_error"', 1)
    assert len(fieldset) == 2
    assert fieldset[0].rstrip().endswith('<fieldset class="field has-error"')
