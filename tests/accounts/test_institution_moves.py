"""Moving an institution moves its whole subtree: descendants' paths, member state and scopes."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from lms.accounts import principal
from lms.accounts.models import Institution, User
from lms.accounts.permissions import get_scope
from tests.factories import InstitutionFactory, RoleAssignmentFactory, UserFactory, member_state

pytestmark = pytest.mark.django_db


def coordinator_of(institution: Institution) -> User:
    user = UserFactory(institution=institution)
    RoleAssignmentFactory(user=user, role="coordinator", institution=institution)
    return user


def fresh_scope(user: User) -> Any:
    return get_scope(User.objects.get(pk=user.pk))


@pytest.fixture
def moved() -> dict[str, Any]:
    """1 ⊃ A ⊃ B ⊃ C, and 5 in another member state; A is then moved under 5."""
    one = InstitutionFactory(name="One")
    a = InstitutionFactory(parent=one, name="A", kind="unit")
    b = InstitutionFactory(parent=a, name="B", kind="unit")
    c = InstitutionFactory(parent=b, name="C", kind="unit")
    five = InstitutionFactory(name="Five", member_state=member_state("PE"))
    people = {
        "coordinator_of_one": coordinator_of(one),
        "coordinator_of_five": coordinator_of(five),
        "coordinator_of_b": coordinator_of(b),
    }
    # The coordinator of B has been signed in: their scope (B's path) is in the cache.
    cached = principal.load(people["coordinator_of_b"].pk)
    assert cached is not None
    assert get_scope(cached).coordinated_paths == (b.path,)
    a = Institution.objects.get(pk=a.pk)
    a.parent = five
    a.save()
    for institution in (a, b, c):
        institution.refresh_from_db()
    return {"one": one, "a": a, "b": b, "c": c, "five": five, **people}


def test_descendants_follow_the_moved_institution(moved: dict[str, Any]) -> None:
    a, b, c, five = moved["a"], moved["b"], moved["c"], moved["five"]
    assert a.path == f"{five.pk}/{a.pk}/"
    assert b.path == f"{a.path}{b.pk}/"
    assert c.path == f"{b.path}{c.pk}/"
    assert {i.member_state_id for i in (a, b, c)} == {five.member_state_id}
    assert set(moved["one"].subtree()) == {moved["one"]}
    assert set(five.subtree()) == {five, a, b, c}


def test_scope_follows_the_new_parent(moved: dict[str, Any]) -> None:
    b, c = moved["b"], moved["c"]
    one_scope = fresh_scope(moved["coordinator_of_one"])
    five_scope = fresh_scope(moved["coordinator_of_five"])
    assert not one_scope.coordinates(b)
    assert not one_scope.coordinates(c.pk)
    assert five_scope.coordinates(b)
    assert five_scope.coordinates(c.pk)


def test_cached_scopes_under_the_moved_institution_are_forgotten(moved: dict[str, Any]) -> None:
    cached = principal.load(moved["coordinator_of_b"].pk)
    assert cached is not None
    assert get_scope(cached).coordinated_paths == (moved["b"].path,)


@pytest.mark.parametrize("under", ["itself", "child", "grandchild"])
def test_an_institution_cannot_move_under_itself_or_its_descendants(
    moved: dict[str, Any], under: str
) -> None:
    a = moved["a"]
    target = {"itself": a, "child": moved["b"], "grandchild": moved["c"]}[under]
    paths = dict(Institution.objects.values_list("pk", "path"))
    a.parent = target
    with pytest.raises(ValidationError) as refused:
        a.full_clean()
    assert "parent" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        a.save()
    assert "parent" in refused.value.message_dict
    assert dict(Institution.objects.values_list("pk", "path")) == paths


def test_moving_back_and_renaming_keep_paths_right(moved: dict[str, Any]) -> None:
    a, b, one = moved["a"], moved["b"], moved["one"]
    a.parent = one
    a.save()
    b.refresh_from_db()
    assert b.path == f"{one.pk}/{a.pk}/{b.pk}/"
    assert b.member_state_id == one.member_state_id
    b.name = "B renamed"
    b.save()
    b.refresh_from_db()
    assert b.path == f"{one.pk}/{a.pk}/{b.pk}/"


def test_a_move_with_a_stale_parent_instance_uses_the_parents_current_path(
    moved: dict[str, Any],
) -> None:
    """A parent loaded before its own move must not give its new child the old path."""
    b = moved["b"]
    stale_b = Institution.objects.get(pk=b.pk)
    moved["a"].parent = moved["one"]
    moved["a"].save()
    d = InstitutionFactory(parent=stale_b, name="D", kind="unit")
    b.refresh_from_db()
    assert d.path == f"{b.path}{d.pk}/"


def test_the_admin_refuses_a_cycle(client: Any, dps_admin: Any, moved: dict[str, Any]) -> None:
    a = moved["a"]
    client.force_login(dps_admin)
    response = client.post(
        f"/admin/accounts/institution/{a.pk}/change/",
        {
            "member_state": a.member_state_id,
            "parent": moved["c"].pk,
            "name": a.name,
            "short_name": a.short_name,
            "kind": a.kind,
            "contact_email": "",
            "website": "",
            "is_active": "on",
        },
    )
    assert response.status_code == 200
    assert "parent" in response.context["adminform"].form.errors
    a.refresh_from_db()
    assert a.parent_id == moved["five"].pk
