"""The API's documentation pages load nothing from outside the site: many learners and the
institutions' systems sit on closed networks, where a CDN's font, script or logo never comes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

# src/href of the tags that make the browser fetch something (scripts, styles, fonts, icons)
RESOURCE = re.compile(r"<(?:script|link|img)\b[^>]*?\b(?:src|href)\s*=\s*[\"']([^\"']+)", re.I)


def _docs_addresses(resolver: URLResolver, prefix: str = "") -> Iterator[str]:
    """Every address under /api/ but the API itself and its schema: the pages for people."""
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            if route.startswith("api/") or "api/".startswith(route):
                yield from _docs_addresses(entry, route)
        elif (
            isinstance(entry, URLPattern)
            and route.startswith("api/")
            and not route.startswith(("api/v1/", "api/schema/"))
        ):
            yield "/" + route


DOCS = sorted(_docs_addresses(get_resolver()))


def test_the_docs_pages_are_found() -> None:
    assert "/api/docs/" in DOCS
    assert "/api/redoc/" in DOCS


@pytest.mark.parametrize("address", DOCS)
def test_a_docs_page_loads_only_the_sites_own_resources(address: str, client: Any) -> None:
    response = client.get(address, follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    resources = RESOURCE.findall(html)
    assert resources, "the page should load its viewer from the site"
    foreign = [
        url
        for url in resources
        if re.match(r"(?:https?:)?//", url, re.I)
        and not re.match(r"(?:https?:)?//testserver/", url)
    ]
    assert foreign == []


def test_redoc_is_not_served_but_sends_to_the_swagger_ui(client: Any) -> None:
    """Redoc's bundle itself fetches its logo from cdn.redoc.ly: the page is not offered."""
    response = client.get("/api/redoc/")
    assert response.status_code == 302
    assert response["Location"] == "/api/docs/"
