"""Times in each person's zone: their member state's unless they chose another; stored in UTC.

A coordinator in Bogotá who plans a session at 08:00 means 08:00 in Bogotá (13:00 UTC): the
session used to be stored as 08:00 UTC, so its attendance opened at 03:00 in Bogotá, and every
reader in the Americas saw UTC times."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.translation import gettext_lazy

from courses.models import CourseRun, Session
from lms.accounts import zones
from lms.accounts.member_states import MEMBER_STATES
from lms.accounts.models import MemberState, Notification
from lms.accounts.notifications import notify
from tests.courses.factories import RunFactory, assign_instructor
from tests.factories import UserFactory, member_state

pytestmark = pytest.mark.django_db


def test_every_member_state_has_the_zone_of_its_capital() -> None:
    states = dict(MemberState.objects.values_list("code", "time_zone"))
    assert len(states) == len(MEMBER_STATES) == 34
    assert states["CO"] == "America/Bogota"
    assert states["BR"] == "America/Sao_Paulo"
    for code, zone in states.items():
        assert zones.is_known(zone), code
        zoneinfo.ZoneInfo(zone)


def test_a_person_reads_their_member_states_zone_unless_they_chose_another() -> None:
    colombian = UserFactory(member_state=member_state("CO"))
    chose = UserFactory(member_state=member_state("CO"), time_zone="America/Mexico_City")
    stateless = UserFactory()
    assert zones.zone_name(colombian) == "America/Bogota"
    assert zones.zone_name(chose) == "America/Mexico_City"
    assert zones.zone_name(stateless) == "UTC"


def test_activating_a_persons_zone_costs_no_query(django_assert_num_queries: Any) -> None:
    person = UserFactory(member_state=member_state("PE"))
    zones.activate_for(person)  # the member states' zones, read once per process
    with django_assert_num_queries(0):
        zones.activate_for(person)


@pytest.fixture
def onsite(institution: Any) -> CourseRun:
    return RunFactory(mode=CourseRun.Mode.ONSITE, host_institution=institution)


def test_a_session_is_typed_and_shown_in_each_persons_zone(
    client: Client, coordinator: Any, onsite: CourseRun
) -> None:
    coordinator.member_state = member_state("CO")
    coordinator.save(update_fields=["member_state"])
    client.force_login(coordinator)
    page = reverse("courses:author_run", args=[onsite.code])
    form = client.get(page, HTTP_ACCEPT_LANGUAGE="en")
    assert "Time in America/Bogota." in form.text
    posted = client.post(
        page,
        {"title": "Día 1", "starts_at": "2027-01-10T08:00", "ends_at": "2027-01-10T12:00"},
    )
    assert posted.status_code == 302
    session = Session.objects.get(run=onsite)
    assert session.starts_at == datetime(2027, 1, 10, 13, 0, tzinfo=UTC)
    assert session.ends_at == datetime(2027, 1, 10, 17, 0, tzinfo=UTC)

    # The run's instructor reads it in the zone they chose (UTC-6 in January), another with
    # neither a choice nor a member state in UTC.
    mexico = UserFactory(time_zone="America/Mexico_City", preferred_language="en")
    assign_instructor(onsite, mexico)
    stateless = UserFactory(preferred_language="en")
    assign_instructor(onsite, stateless)
    roster = reverse("courses:roster", args=[onsite.code])
    client.force_login(mexico)
    assert "7 a.m." in client.get(roster).text
    client.force_login(stateless)
    assert "1 p.m." in client.get(roster).text


def test_a_person_chooses_their_zone_on_their_account(client: Client) -> None:
    person = UserFactory(member_state=member_state("BR"), preferred_language="en")
    client.force_login(person)
    url = reverse("accounts:account")
    page = client.get(url)
    assert "My member state’s (America/Sao Paulo)" in page.text
    data = {"full_name": person.full_name, "preferred_language": "en"}
    refused = client.post(url, {**data, "time_zone": "Mars/Olympus_Mons"})
    assert "time_zone" in refused.context["form"].errors
    person.refresh_from_db()
    assert person.time_zone == ""
    assert client.post(url, {**data, "time_zone": "America/Manaus"}).status_code == 302
    person.refresh_from_db()
    assert person.time_zone == "America/Manaus"
    assert zones.zone_name(person) == "America/Manaus"
    assert client.post(url, {**data, "time_zone": ""}).status_code == 302
    person.refresh_from_db()
    assert zones.zone_name(person) == "America/Sao_Paulo"


def test_a_time_in_a_notification_is_written_in_its_readers_zone() -> None:
    bogota = UserFactory(member_state=member_state("CO"), preferred_language="en")
    utc = UserFactory(preferred_language="en")
    notify(
        recipients=[bogota, utc],
        subject=gettext_lazy("Session"),
        body="%(when)s",
        params={"when": datetime(2027, 1, 10, 13, 0, tzinfo=UTC)},
    )
    bodies = dict(Notification.objects.values_list("user_id", "body"))
    assert "8 a.m." in bodies[bogota.pk]
    assert "1 p.m." in bodies[utc.pk]
