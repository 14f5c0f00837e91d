"""Every address of the site, asked by each kind of person with made-up ids and an empty or
nonsense form, answers without a server error: a view whose permission check or form handling
breaks on its own arguments (as the roster's Approve button did: a 500 for everyone) shows up
here before anyone clicks it."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

# Values for each converter: ids that match nothing, so every lookup answers 404 at worst.
MADE_UP = {"int": "987654", "slug": "no-such-thing", "uuid": str(uuid.UUID(int=7)),
           "str": "no-such-thing", "path": "no/such/thing"}  # fmt: skip
SKIPPED_PREFIXES = ("admin/", "static/", "media/", "__debug__/")


def _addresses(resolver: URLResolver, prefix: str = "") -> Iterator[str]:
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if route.startswith(SKIPPED_PREFIXES) or route.startswith("^"):
            continue
        if isinstance(entry, URLResolver):
            yield from _addresses(entry, route)
        elif isinstance(entry, URLPattern):
            yield route


def _fill(route: str) -> str:
    def value(match: re.Match[str]) -> str:
        converter = match.group(1) or "str"
        return MADE_UP.get(converter, "no-such-thing")

    return "/" + re.sub(r"<(?:(\w+):)?\w+>", value, route)


ADDRESSES = sorted({_fill(route) for route in _addresses(get_resolver())})


def test_the_site_has_addresses_to_ask() -> None:
    assert len(ADDRESSES) > 80
    assert "/courses/runs/no-such-thing/enrolments/987654/decide/" in ADDRESSES


@pytest.mark.parametrize("role", ["anonymous", "learner", "coordinator", "dps_admin"])
def test_no_address_answers_a_server_error(role: str, request: pytest.FixtureRequest) -> None:
    client = Client(raise_request_exception=False)
    if role != "anonymous":
        client.force_login(request.getfixturevalue(role))
    errors = []
    for address in ADDRESSES:
        if address == "/accounts/logout/":  # it would end the session the others need
            continue
        for method, data in (
            ("get", {}),
            ("post", {}),
            ("post", {"decision": "?", "q": "x" * 500}),
        ):
            response = getattr(client, method)(address, data)
            if response.status_code >= 500:
                form = "nonsense" if data else "empty"
                errors.append(f"{method.upper()} {address} ({form}): {response.status_code}")
    assert errors == []
    if role != "anonymous":  # still signed in: the addresses were asked as this person
        assert client.get("/accounts/account/").status_code == 200
