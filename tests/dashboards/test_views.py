"""The dashboard pages: what each role sees, every refusal, exports and query counts."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from courses.models import CourseRun
from lms.dashboards import services
from tests.factories import RoleAssignmentFactory, UniversityFactory, UserFactory

pytestmark = pytest.mark.usefixtures("require_postgres", "without_certificate_issuance")
HOME = "/dashboards/"


def test_dps_sees_the_whole_network(client: Any, dps_admin: Any, activity: Any) -> None:
    client.force_login(dps_admin)
    response = client.get(HOME)
    assert response.status_code == 200
    figures = response.context["figures"]
    assert (figures.enrolled, figures.completed) == (2, 1)
    assert figures.reached == 1  # the on-site run replicates the virtual one
    assert figures.active_30 == 1
    assert b"<svg" in response.content
    assert b"tile-map" in response.content
    assert response.context["recent"][0].pk == activity["done"].pk


def test_drill_down_from_a_member_state_to_institutions(
    client: Any, dps_admin: Any, activity: Any, institution: Any
) -> None:
    client.force_login(dps_admin)
    response = client.get(HOME, {"member_state": institution.member_state_id})
    assert response.context["by"] == "institution"
    assert institution.pk in [row.key for row in response.context["rows"]]
    response = client.get(HOME, {"institution": institution.pk})
    assert response.context["by"] == "run"
    assert client.get(reverse("dashboards:run", args=[activity["done"].run_id])).status_code == 200
    officer = client.get(reverse("dashboards:officer", args=[activity["done"].user_id]))
    assert officer.status_code == 200
    assert activity["done"].run.code.encode() in officer.content


def test_a_filtered_dashboard_reads_the_institutions_units_and_programs_courses_once(
    client: Any, dps_admin: Any, activity: Any, institution: Any, network: dict[str, Any]
) -> None:
    """Filtered by an institution and a program, each block of the page (totals, activity,
    runs, months, member states) filters by the institution's units and the program's courses:
    read once per page, not once per block (five times each before)."""
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(dps_admin)
    cache.clear()  # the blocks' figures are cached: a first view computes every block
    query = {"institution": institution.pk, "program": network["program"].pk}
    with CaptureQueriesContext(connection) as queries:
        response = client.get(HOME, query)
    assert response.status_code == 200
    assert response.context["figures"].enrolled >= 1
    sql = [q["sql"] for q in queries]
    assert sum('"accounts_institution"."path"::text LIKE' in q for q in sql) == 1, sql
    assert sum('FROM "courses_programcourse"' in q for q in sql) == 1, sql


def test_coordinator_sees_only_their_institution(
    client: Any, coordinator: Any, activity: Any
) -> None:
    client.force_login(coordinator)
    figures = client.get(HOME).context["figures"]
    assert (figures.enrolled, figures.completed) == (1, 1)


def test_coordinator_cannot_open_an_officer_of_another_institution(
    client: Any, coordinator: Any, activity: Any
) -> None:
    """An officer out of reach and an id that names no one get the same answer: 404."""
    client.force_login(coordinator)
    url = reverse("dashboards:officer", args=[activity["onsite"].user_id])
    outside = client.get(url)
    missing = client.get(reverse("dashboards:officer", args=[10**12]))
    assert (outside.status_code, missing.status_code) == (404, 404)
    main = re.compile(rb"<main.*</main>", re.S)  # the header names the page's own address
    assert main.findall(outside.content) == main.findall(missing.content) != []
    assert client.get(url, {"format": "csv"}).status_code == 404


def test_coordinator_cannot_open_a_run_without_their_officers(
    client: Any, coordinator: Any, activity: Any
) -> None:
    client.force_login(coordinator)
    assert (
        client.get(reverse("dashboards:run", args=[activity["onsite"].run_id])).status_code == 403
    )


def test_instructor_sees_their_run_and_not_another(
    client: Any, run_instructor: Any, activity: Any
) -> None:
    client.force_login(run_instructor)
    assert client.get(reverse("dashboards:run", args=[activity["done"].run_id])).status_code == 200
    assert (
        client.get(reverse("dashboards:run", args=[activity["onsite"].run_id])).status_code == 403
    )


def test_donor_sees_only_the_programs_it_funds(
    client: Any, donor_user: Any, activity: Any, network: Any
) -> None:
    client.force_login(donor_user)
    figures = client.get(HOME).context["figures"]
    assert (figures.enrolled, figures.completed) == (1, 1)
    assert client.get(reverse("dashboards:run", args=[network["onsite"].pk])).status_code == 403


def test_a_donor_sees_figures_never_the_officers(
    client: Any, donor_user: Any, coordinator: Any, activity: Any, network: Any
) -> None:
    """The programs' figures, but no officer's name: no recent completions, no learners on a
    run's page or in its export, no officer's record. Their coordinator sees them."""
    done = activity["done"]
    name = done.user.full_name
    client.force_login(donor_user)
    with translation.override("en"):
        home = client.get(HOME)
        assert home.context["figures"].completed == 1
        assert name not in home.content.decode()
        assert "Recent completions" not in home.content.decode()
        run = reverse("dashboards:run", args=[done.run_id])
        page = client.get(run)
        assert page.status_code == 200
        assert name not in page.content.decode()
        export = b"".join(client.get(run, {"format": "csv"}).streaming_content).decode("utf-8-sig")
        assert name not in export
        assert client.get(reverse("dashboards:officer", args=[done.user_id])).status_code == 404
        client.force_login(coordinator)
        assert name in client.get(HOME).content.decode()


def test_donor_of_another_program_sees_nothing_of_it(client: Any, activity: Any) -> None:
    from tests.factories import DonorFactory

    user = UserFactory()
    RoleAssignmentFactory(user=user, role="donor", donor=DonorFactory())
    client.force_login(user)
    assert client.get(HOME).context["figures"].enrolled == 0
    assert (
        client.get(reverse("dashboards:officer", args=[activity["done"].user_id])).status_code
        == 404
    )


def test_validator_sees_courses_their_university_accredits(
    client: Any, activity: Any, network: Any
) -> None:
    from accreditation.models import AccreditationRequest

    university = UniversityFactory()
    validator = UserFactory()
    RoleAssignmentFactory(user=validator, role="validator", university=university)
    client.force_login(validator)
    assert client.get(HOME).context["figures"].enrolled == 0
    assert client.get(reverse("dashboards:run", args=[network["virtual"].pk])).status_code == 403
    AccreditationRequest.objects.create(
        course_version=network["virtual"].version,
        university=university,
        owner_institution=network["virtual"].host_institution,
        status=AccreditationRequest.APPROVED_STATUSES[0],
    )
    client.force_login(validator)
    assert client.get(HOME).context["figures"].enrolled == 1
    assert client.get(reverse("dashboards:run", args=[network["virtual"].pk])).status_code == 200


def test_learner_is_refused(client: Any, learner: Any) -> None:
    client.force_login(learner)
    assert client.get(HOME).status_code == 403


def test_anonymous_is_sent_to_sign_in(client: Any) -> None:
    response = client.get(HOME)
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_monthly_reports_are_for_dps_only(client: Any, coordinator: Any) -> None:
    client.force_login(coordinator)
    assert client.get(reverse("dashboards:reports")).status_code == 403


def test_a_bad_filter_is_refused_naming_the_field(client: Any, dps_admin: Any) -> None:
    client.force_login(dps_admin)
    response = client.get(HOME, {"since": "last year"}, HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 400
    response = client.get(HOME, {"mode": "teleport"})
    assert response.status_code == 400
    assert b"Delivery mode" in response.content


def test_a_bad_filter_is_said_on_a_page_of_the_site_with_the_way_back(
    client: Any, dps_admin: Any
) -> None:
    client.force_login(dps_admin)
    with translation.override("en"):
        response = client.get(HOME, {"since": "2026-13"})
        assert response.status_code == 400
        page = response.content.decode()
        assert "<main" in page
        assert "From: write the month as YYYY-MM." in page
        assert f'href="{HOME}"' in page
        # a range that ends before it starts shows nothing: refused, naming the field
        response = client.get(HOME, {"since": "2026-12", "until": "2026-11"})
        assert response.status_code == 400
        assert "Until: choose a month after “2026-12”." in response.content.decode()
        assert client.get(HOME, {"since": "2026-11", "until": "2026-11"}).status_code == 200


def test_csv_export_has_the_breakdown(
    client: Any, dps_admin: Any, activity: Any, institution: Any
) -> None:
    client.force_login(dps_admin)
    response = client.get(HOME, {"by": "institution", "format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:3] == ["Institution", "Enrolments", "Completions"]
    mine = next(row for row in rows if row[0] == institution.name)
    assert mine[1:3] == ["1", "1"]


def test_xlsx_export_has_summary_breakdown_trend_and_states(
    client: Any, dps_admin: Any, activity: Any
) -> None:
    client.force_login(dps_admin)
    response = client.get(HOME, {"format": "xlsx"})
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    assert len(book.sheetnames) == 4
    summary = list(book[book.sheetnames[0]].iter_rows(values_only=True))
    assert summary[1][2:4] == (2, 1)  # enrolments, completions after the active-learner columns
    states = list(book[book.sheetnames[3]].iter_rows(values_only=True))
    assert len(states) == 35  # header and the 34 member states


def test_run_export_lists_its_learners(client: Any, dps_admin: Any, activity: Any) -> None:
    client.force_login(dps_admin)
    url = reverse("dashboards:run", args=[activity["done"].run_id])
    body = b"".join(client.get(url, {"format": "csv"}).streaming_content).decode("utf-8-sig")
    assert activity["done"].user.full_name in body
    book = load_workbook(io.BytesIO(client.get(url, {"format": "xlsx"}).content), read_only=True)
    assert len(list(book.active.iter_rows())) == 2


def test_home_reads_aggregates_in_a_fixed_number_of_queries(
    client: Any, dps_admin: Any, activity: Any, django_assert_max_num_queries: Any
) -> None:
    client.force_login(dps_admin)
    client.get(HOME)
    with django_assert_max_num_queries(14):
        client.get(HOME, {"by": "run"})
    services.rebuild()
    with django_assert_max_num_queries(14):
        client.get(HOME, {"by": "course"})


def test_a_runs_trail_names_its_hosts_country_when_the_run_does_not(
    client: Any, dps_admin: Any, network: dict[str, Any], institution: Any
) -> None:
    """Hemisphere › country › institution: a run recorded without its own country takes its
    host institution's."""
    run = network["virtual"]
    CourseRun.objects.filter(pk=run.pk).update(member_state=None)
    client.force_login(dps_admin)
    with translation.override("en"):
        page = client.get(reverse("dashboards:run", args=[run.pk])).content.decode()
    trail = page.split('aria-label="Drill-down"', 1)[1].split("</nav>", 1)[0]
    assert institution.member_state.name in trail
    assert institution.name in trail
