"""The cached signed-in person (lms.accounts.principal) and the pre-rendered page chrome
(lms.chrome): a page costs no query for the person, yet every change shows on the next request."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from lms.accounts.models import Institution, RoleAssignment, User
from lms.accounts.notifications import notify
from lms.accounts.services import import_officers
from tests.factories import InstitutionFactory, RoleAssignmentFactory, UserFactory

pytestmark = pytest.mark.django_db

PERSON_TABLES = ("accounts_user", "accounts_roleassignment", "accounts_notification")


def person_queries(client: Client, path: str) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    return [q["sql"] for q in queries if any(t in q["sql"] for t in PERSON_TABLES)]


def test_a_second_page_reads_the_person_from_the_cache(client: Client, learner: Any) -> None:
    client.force_login(learner)
    assert person_queries(client, "/") != []  # the first page loads the person
    assert person_queries(client, "/") == []  # the next ones do not
    assert person_queries(client, reverse("courses:catalogue")) == []


def test_a_suspended_person_is_signed_out_on_the_next_request(client: Client, learner: Any) -> None:
    client.force_login(learner)
    assert client.get(reverse("courses:my_learning")).status_code == 200
    learner.status = User.Status.SUSPENDED
    learner.save(update_fields=["status"])
    response = client.get(reverse("courses:my_learning"))
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_a_password_change_ends_other_sessions(client: Client, learner: Any) -> None:
    client.force_login(learner)
    assert client.get(reverse("courses:my_learning")).status_code == 200
    user = User.objects.get(pk=learner.pk)
    user.set_password("a-new-long-passphrase-2026")
    user.save(update_fields=["password"])
    assert client.get(reverse("courses:my_learning")).status_code == 302


def test_a_new_role_shows_in_the_navigation_at_once(
    client: Client, learner: Any, institution: Institution
) -> None:
    client.force_login(learner)
    assert 'href="/accounts/import/"' not in client.get("/").content.decode()
    assignment = RoleAssignmentFactory(user=learner, role="coordinator", institution=institution)
    assert 'href="/accounts/import/"' in client.get("/").content.decode()
    assignment.delete()
    assert 'href="/accounts/import/"' not in client.get("/").content.decode()


def test_a_moved_institution_changes_its_coordinators_scope(
    client: Client, coordinator: Any, institution: Institution
) -> None:
    from lms.accounts.principal import load

    old_path = load(coordinator.pk)._lms_scope.coordinated_paths  # type: ignore[union-attr]
    parent = InstitutionFactory(member_state=institution.member_state)
    institution.parent = parent
    institution.save()
    institution.refresh_from_db()
    new_path = load(coordinator.pk)._lms_scope.coordinated_paths  # type: ignore[union-attr]
    assert old_path != new_path == (institution.path,)


def test_the_unread_count_follows_notifications(client: Client, learner: Any) -> None:
    client.force_login(learner)
    assert "1<span" not in client.get("/").content.decode()
    notify(recipients=[learner], subject="Hello", body="")
    content = client.get("/").content.decode()
    assert re.search(
        r'id="notification-count"[^>]*><span class="visually-hidden">: </span>1<', content
    )
    client.post(reverse("accounts:notifications_read_all"))
    content = client.get("/").content.decode()
    assert re.search(r'id="notification-count" aria-live="polite"></span>', content)


def test_an_import_that_renames_an_officer_shows_the_new_name(
    client: Client, institution: Institution
) -> None:
    officer = UserFactory(institution=institution, full_name="Ana Pérez")
    client.force_login(officer)
    assert ">Ana</a>" in client.get("/").content.decode()
    result = import_officers(
        institution=institution,
        rows=[{"email": officer.email, "full_name": "Beatriz Pérez"}],
        invite=False,
    )
    assert result.updated == 1, result.errors
    assert ">Beatriz</a>" in client.get("/").content.decode()


def test_the_language_switch_applies_to_the_cached_person(client: Client, learner: Any) -> None:
    client.force_login(learner)
    assert '<html lang="en">' in client.get("/").content.decode()
    client.post(reverse("accounts:set_language"), {"language": "pt", "next": "/"})
    assert '<html lang="pt">' in client.get("/").content.decode()


# The chrome -------------------------------------------------------------------------------


def test_the_chrome_escapes_the_name_and_the_return_address(client: Client) -> None:
    user = UserFactory(full_name='<script>alert("x")</script> Doe')
    client.force_login(user)
    content = client.get("/courses/", {"q": '"><b>x'}).content.decode()
    assert "<script>alert" not in content
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</a>" in content
    assert 'name="next" value="/courses/?q=%22%3E%3Cb%3Ex"' in content
    assert "\ue000" not in content  # no marker left behind


def test_the_current_page_is_marked_in_the_navigation_only(client: Client, learner: Any) -> None:
    client.force_login(learner)
    content = client.get(reverse("courses:my_learning")).content.decode()
    assert content.count('aria-current="page"') == 1
    assert '<a href="/courses/my-learning/" aria-current="page">' in content
    content = client.get(reverse("courses:catalogue")).content.decode()
    assert '<a href="/courses/" aria-current="page">' in content
    assert '<a href="/courses/my-learning/">' in content


def test_each_request_gets_a_working_csrf_token(learner: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(learner)
    for _ in range(2):  # the second page comes from the rendered chrome
        content = client.get("/").content.decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', content)
        assert token is not None
        assert "\ue000" not in token.group(1)
        response = client.post(
            reverse("accounts:set_language"),
            {"language": "fr", "next": "/", "csrfmiddlewaretoken": token.group(1)},
        )
        assert response.status_code == 302
    assert client.post(reverse("accounts:set_language"), {"language": "es"}).status_code == 403


def test_the_csrf_cookie_is_set_when_missing_and_not_sent_again_on_every_page(
    learner: Any,
) -> None:
    """A page with forms gives a browser without a CSRF cookie a new one; a browser holding one
    is not sent it again (Django's get_token re-sets it on every page, a Set-Cookie the hot
    pages paid for each time), and its pages' tokens keep working with it. Signing in sets a
    new one (Django rotates it), which the next pages use."""
    client = Client(enforce_csrf_checks=True)
    first = client.get(reverse("accounts:login"))
    assert "csrftoken" in first.cookies
    login_token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', first.content.decode())
    assert login_token is not None
    learner.set_password("a-Pass-2026!")
    learner.save()
    signed_in = client.post(
        reverse("accounts:login"),
        {
            "username": learner.email,
            "password": "a-Pass-2026!",
            "csrfmiddlewaretoken": login_token.group(1),
        },
    )
    assert signed_in.status_code == 302
    rotated = signed_in.cookies["csrftoken"].value
    assert rotated != first.cookies["csrftoken"].value
    for path in ("/", reverse("courses:catalogue"), reverse("courses:my_learning")):
        page = client.get(path)
        assert page.status_code == 200
        assert "csrftoken" not in page.cookies, path
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
        assert token is not None
        assert client.cookies["csrftoken"].value == rotated
        response = client.post(
            reverse("accounts:set_language"),
            {"language": "pt", "next": "/", "csrfmiddlewaretoken": token.group(1)},
        )
        assert response.status_code == 302, path
    del client.cookies["csrftoken"]  # expired in the browser: the next page gives a new one
    page = client.get("/")
    assert page.cookies["csrftoken"].value not in ("", rotated)


def test_the_chrome_follows_the_language_and_the_visitor(client: Client, learner: Any) -> None:
    anonymous = client.get("/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Iniciar sesión" in anonymous or "Entrar" in anonymous
    assert "notifications.js" not in anonymous
    client.force_login(learner)
    signed_in = client.get("/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "account-link" in signed_in
    assert 'href="/accounts/import/"' not in signed_in
    RoleAssignment.objects.create(user=learner, role="dps_admin")
    assert 'href="/accounts/import/"' in client.get("/").content.decode()


def test_the_redis_cache_keeps_one_client_per_pool(require_redis: str) -> None:
    from django.core.cache import caches

    from lms.cache import RedisCache

    cache = caches["default"]
    assert isinstance(cache, RedisCache)
    client = cache._cache.get_client()
    assert cache._cache.get_client(write=True) is client
    cache.set("chrome-test", {"a": 1}, 5)
    assert cache.get("chrome-test") == {"a": 1}


def test_the_redis_cache_takes_keys_memcached_would_refuse_without_a_warning(
    require_redis: str,
) -> None:
    """The memcached portability check is skipped (lms.cache.RedisCache.validate_key): Redis
    takes any key, and the check cost the catalogue 4 % of its time."""
    import warnings

    from django.core.cache import caches
    from django.core.cache.backends.base import CacheKeyWarning

    cache = caches["default"]
    key = "a key with spaces\tand a tab " + "x" * 300
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheKeyWarning)
        cache.set(key, "kept", 5)
        assert cache.get(key) == "kept"
        assert cache.get_many([key, "absent"]) == {key: "kept"}
        cache.delete(key)
    assert cache.get(key) is None


def test_people_read_together_are_not_read_again_together(require_redis: str) -> None:
    """Forty people whose entries are made in the same second keep them for different times,
    each at most principal.TTL: their next reads from the database spread over half of it
    instead of falling on one second."""
    from django.core.cache import caches

    from lms.accounts import principal

    cache = caches["default"]
    people = UserFactory.create_batch(40)
    principal.forget_many(person.pk for person in people)
    for person in people:
        assert principal.load(person.pk) == person
    client = cache._cache.get_client()
    lives = [client.ttl(cache.make_key(principal.cache_key(person.pk))) for person in people]
    assert all(principal.TTL // 2 - 1 <= life <= principal.TTL for life in lives), lives
    assert len(set(lives)) >= 10, lives
