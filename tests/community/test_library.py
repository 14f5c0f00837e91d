"""The knowledge library: full-text search in each item's language, and the editorial workflow."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from community import selectors, services
from community.models import LibraryItem

pytestmark = pytest.mark.django_db


def _published(author: Any, **fields: Any) -> LibraryItem:
    item = services.save_library_item(author=author, kind="publication", **fields)
    services.transition_library_item(item=item, actor=author, action="submit")
    return services.transition_library_item(item=item, actor=author, action="publish")


def test_search_finds_spanish_and_portuguese_items_by_inflected_forms(
    require_postgres: None, dps_admin: Any
) -> None:
    spanish = _published(
        dps_admin,
        title="Patrullaje preventivo",
        language="es",
        body="<p>Las policías comunitarias previenen los delitos en los barrios.</p>",
    )
    portuguese = _published(
        dps_admin,
        title="Policiamento de proximidade",
        language="pt",
        body="<p>Os policiais comunitários reduziram os homicídios nas cidades.</p>",
    )
    _published(dps_admin, title="Traffic control", language="en", body="<p>Road safety.</p>")
    found_es = list(selectors.library_items(user=dps_admin, query="policía comunitaria delito"))
    assert found_es == [spanish]
    found_pt = list(selectors.library_items(user=dps_admin, query="homicídio comunitário cidade"))
    assert found_pt == [portuguese]


def test_drafts_are_not_public_and_only_dps_publishes(
    client: Any, coordinator: Any, learner: Any, dps_admin: Any
) -> None:
    item = services.save_library_item(
        author=coordinator, kind="news", title="Draft news", language="es"
    )
    client.force_login(learner)
    assert client.get(f"/community/library/{item.pk}/").status_code == 403
    assert "Draft news" not in client.get("/community/library/").content.decode()
    services.transition_library_item(item=item, actor=coordinator, action="submit")
    with pytest.raises(PermissionDenied):
        services.transition_library_item(item=item, actor=coordinator, action="publish")
    services.transition_library_item(item=item, actor=dps_admin, action="publish")
    assert client.get(f"/community/library/{item.pk}/").status_code == 200


def test_learner_cannot_edit_the_library(client: Any, learner: Any) -> None:
    client.force_login(learner)
    assert client.get("/community/library/new/").status_code == 403
    with pytest.raises(PermissionDenied):
        services.save_library_item(author=learner, kind="news", title="x", language="es")


def test_illegal_editorial_step_is_refused(dps_admin: Any) -> None:
    item = services.save_library_item(author=dps_admin, kind="news", title="x", language="es")
    with pytest.raises(ValidationError):
        services.transition_library_item(item=item, actor=dps_admin, action="publish")


def test_library_form_names_the_missing_field_in_spanish(client: Any, coordinator: Any) -> None:
    coordinator.preferred_language = "es"
    coordinator.save()
    client.force_login(coordinator)
    response = client.post("/community/library/new/", {"kind": "news", "language": "es"})
    assert response.status_code == 400
    assert "Este campo es requerido" in response.content.decode()
