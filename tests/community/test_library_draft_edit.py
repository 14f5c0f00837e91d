"""The library's edit page is refused exactly as saving is: another person's draft is not a
coordinator's to open (its title, summary and body), a published item is DPS's to change."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from community import services
from community.models import LibraryItem
from tests.factories import RoleAssignmentFactory, UserFactory

pytestmark = pytest.mark.django_db

SECRET = {"title": "Operación Cóndor", "summary": "Informe reservado", "body": "<p>Fuentes</p>"}


@pytest.fixture
def other_coordinator(other_institution: Any) -> Any:
    user = UserFactory(institution=other_institution)
    RoleAssignmentFactory(user=user, role="coordinator", institution=other_institution)
    return user


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _edit(item: LibraryItem) -> str:
    return f"/community/library/{item.pk}/edit/"


@pytest.mark.parametrize("status", [LibraryItem.Status.DRAFT, LibraryItem.Status.REVIEW])
def test_another_coordinator_cannot_open_someone_elses_unpublished_item(
    coordinator: Any, other_coordinator: Any, status: str
) -> None:
    item = services.save_library_item(author=coordinator, kind="news", language="es", **SECRET)
    LibraryItem.objects.filter(pk=item.pk).update(status=status)
    client = _client(other_coordinator)
    read = client.get(f"/community/library/{item.pk}/")
    posted = client.post(_edit(item), {"kind": "news", "language": "es", "title": "Mine now"})
    opened = client.get(_edit(item))
    assert (read.status_code, posted.status_code) == (403, 403)
    assert opened.status_code == posted.status_code
    for response in (read, posted, opened):
        text = response.content.decode()
        assert not [value for value in ("Cóndor", "reservado", "Fuentes") if value in text]
    item.refresh_from_db()
    assert item.title == SECRET["title"]


def test_an_invalid_post_on_someone_elses_draft_is_refused_before_the_form(
    coordinator: Any, other_coordinator: Any
) -> None:
    """A form error used to render the page (400) with the draft's fields before the refusal."""
    item = services.save_library_item(author=coordinator, kind="news", language="es", **SECRET)
    response = _client(other_coordinator).post(_edit(item), {"kind": ""})
    assert response.status_code == 403
    assert "Cóndor" not in response.content.decode()


def test_a_published_item_is_edited_by_dps_only(coordinator: Any, dps_admin: Any) -> None:
    item = services.save_library_item(author=coordinator, kind="news", language="es", **SECRET)
    LibraryItem.objects.filter(pk=item.pk).update(status=LibraryItem.Status.PUBLISHED)
    assert _client(coordinator).get(_edit(item)).status_code == 403
    assert _client(dps_admin).get(_edit(item)).status_code == 200


def test_the_author_and_dps_still_open_the_draft(coordinator: Any, dps_admin: Any) -> None:
    item = services.save_library_item(author=coordinator, kind="news", language="es", **SECRET)
    for user in (coordinator, dps_admin):
        response = _client(user).get(_edit(item))
        assert response.status_code == 200
        assert "Cóndor" in response.content.decode()
    assert _client(coordinator).get("/community/library/new/").status_code == 200
