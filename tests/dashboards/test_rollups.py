"""The rollups the pages read: which table answers which view, the cost of the certificate
listener (constant, one certificate or a batch), and the paginated breakdown."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from certification import signals as certification_signals
from certification.models import Certificate
from courses.models import Enrollment
from lms.dashboards import live, receivers, services, views
from lms.dashboards.models import (
    InstitutionTally,
    MonthlyTally,
    RunTally,
    RunTotal,
    StateTally,
)
from lms.dashboards.selectors import tally_model
from tests.dashboards.conftest import enrol, finish
from tests.dashboards.test_aggregates import assert_matches_recount

pytestmark = pytest.mark.usefixtures("require_postgres", "without_certificate_issuance")
HOME = "/dashboards/"


@pytest.mark.parametrize(
    ("columns", "model"),
    [
        (set(), StateTally),
        ({"member_state_id", "month", "mode"}, StateTally),
        ({"institution_id", "member_state_id", "language"}, InstitutionTally),
        ({"run_id"}, RunTotal),
        ({"run_id", "month"}, RunTally),
        ({"course_id", "program_id", "mode"}, RunTotal),
        ({"course_id", "month", "language"}, RunTally),
        ({"institution_id", "run_id"}, MonthlyTally),
        ({"member_state_id", "course_id"}, MonthlyTally),
    ],
)
def test_the_smallest_table_that_has_the_columns_answers(columns: set[str], model: Any) -> None:
    assert tally_model(columns | {"replication"}) is model


def _tables_read(client: Any, query: dict[str, Any]) -> set[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(HOME, query).status_code == 200
    sql = " ".join(entry["sql"] for entry in captured.captured_queries)
    return {
        table
        for table in (
            "dashboards_monthlytally",
            "dashboards_statetally",
            "dashboards_institutiontally",
            "dashboards_runtally",
            "dashboards_runtotal",
            "dashboards_learneractivity",
            "dashboards_useractivity",
            "dashboards_placeactivity",
        )
        if table in sql
    }


def test_network_views_read_the_rollups_not_the_cells(
    client: Any,
    dps_admin: Any,
    coordinator: Any,
    network: dict[str, Any],
    officers: list[Any],
    committed: Any,
    institution: Any,
) -> None:
    done = committed(lambda: enrol(officers[0], network["virtual"]))
    committed(lambda: finish(done))
    committed(lambda: enrol(officers[2], network["onsite"]))
    client.force_login(dps_admin)
    assert _tables_read(client, {}) == {"dashboards_statetally", "dashboards_useractivity"}
    assert _tables_read(client, {"by": "institution"}) == {
        "dashboards_statetally",
        "dashboards_institutiontally",
        "dashboards_useractivity",
    }
    assert _tables_read(client, {"by": "course", "mode": "onsite"}) == {
        "dashboards_statetally",
        "dashboards_runtotal",
        "dashboards_useractivity",
    }
    # A country: its learners are counted per learner and place, not per enrolment.
    assert "dashboards_placeactivity" in _tables_read(
        client, {"member_state": institution.member_state_id}
    )
    assert "dashboards_learneractivity" in _tables_read(
        client, {"course": network["virtual"].course_id}
    )
    # The figures are the same whichever table gave them (only the finished learner was active).
    figures = client.get(HOME, {"by": "run"}).context["figures"]
    assert (figures.enrolled, figures.completed, figures.reached, figures.active_30) == (2, 1, 1, 1)
    client.force_login(coordinator)
    figures = client.get(HOME).context["figures"]
    assert (figures.enrolled, figures.completed, figures.active_30) == (1, 1, 1)


def _certificate(enrollment: Enrollment, number: int) -> Certificate:
    return Certificate.objects.create(
        code=f"TEST{enrollment.pk:05d}{number:03d}",
        user=enrollment.user,
        enrollment=enrollment,
        run=enrollment.run,
        course=enrollment.run.course,
        institution=enrollment.institution,
        holder_name=enrollment.user.full_name,
        status_index=enrollment.pk * 10 + number,
    )


def _statements(action: Any) -> list[str]:
    """The first word of each statement `action` sends (savepoints of the test's transaction
    left out: in production the receivers run after commit)."""
    with CaptureQueriesContext(connection) as captured:
        action()
    words = [entry["sql"].split()[0].upper() for entry in captured.captured_queries]
    return [word for word in words if word not in ("SAVEPOINT", "RELEASE")]


def test_the_certificate_listener_costs_the_same_few_statements_for_one_or_a_batch(
    network: dict[str, Any], officers: list[Any], committed: Any
) -> None:
    enrolments = [committed(lambda u=user: enrol(u, network["virtual"])) for user in officers]
    one = _certificate(enrolments[0], 1)
    # One read of what the counters need, one upsert per tally table (the cells and four
    # rollups); the live update is queued for live's own thread, not sent here.
    assert (
        _statements(
            lambda: certification_signals.certificate_issued.send(
                sender=Certificate, certificate=one
            )
        )
        == ["SELECT"] + ["INSERT"] * 5
    )
    batch = [_certificate(enrollment, 2) for enrollment in enrolments[1:]]
    assert (
        _statements(lambda: receivers.on_certificates_issued(Certificate, certificates=batch))
        == ["SELECT"] + ["INSERT"] * 5
    )
    assert live.flush(timeout=10)
    totals = sum(row.certificates for row in StateTally.objects.all())
    assert totals == len(enrolments)
    assert_matches_recount()


def test_the_breakdown_is_paginated_and_the_export_has_every_row(
    client: Any,
    dps_admin: Any,
    network: dict[str, Any],
    officers: list[Any],
    committed: Any,
    monkeypatch: Any,
) -> None:
    committed(lambda: enrol(officers[0], network["virtual"]))
    committed(lambda: enrol(officers[2], network["onsite"]))
    monkeypatch.setattr(views, "BREAKDOWN_PAGE", 1)
    client.force_login(dps_admin)
    first = client.get(HOME, {"by": "run"})
    second = client.get(HOME, {"by": "run", "page": 2})
    keys = [row.key for row in first.context["rows"]] + [row.key for row in second.context["rows"]]
    assert sorted(keys) == sorted([network["virtual"].pk, network["onsite"].pk])
    assert b'rel="next"' in first.content
    assert b"by=run&amp;page=2" in first.content
    exported = client.get(HOME, {"by": "run", "format": "csv"})
    lines = list(csv.reader(io.StringIO(b"".join(exported.streaming_content).decode())))
    assert {network["virtual"].code, network["onsite"].code} <= {line[0] for line in lines}


def test_a_cached_view_shows_the_same_figures_as_a_fresh_one(
    client: Any, dps_admin: Any, network: dict[str, Any], officers: list[Any], committed: Any
) -> None:
    done = committed(lambda: enrol(officers[0], network["virtual"]))
    committed(lambda: finish(done))
    committed(lambda: enrol(officers[2], network["onsite"]))
    client.force_login(dps_admin)

    def seen(response: Any) -> tuple[Any, ...]:
        context = response.context
        return (
            vars(context["figures"]),
            [(row.key, row.label, vars(row.figures)) for row in context["rows"]],
            [(row.key, vars(row.figures)) for row in context["trend"]],
            [(row.key, row.code, vars(row.figures)) for row in context["states"]],
        )

    fresh = seen(client.get(HOME, {"by": "run"}))
    assert fresh[1]
    assert fresh[0]["enrolled"] == 2
    assert seen(client.get(HOME, {"by": "run"})) == fresh  # from the cache this time


def test_the_rebuild_command_shows_progress_and_gives_the_same_aggregates(
    network: dict[str, Any], officers: list[Any], committed: Any
) -> None:
    done = committed(lambda: enrol(officers[0], network["virtual"]))
    committed(lambda: finish(done))
    committed(lambda: enrol(officers[2], network["onsite"]))
    before = services.current_tallies(), services.current_rollups()
    out, err = io.StringIO(), io.StringIO()
    call_command("rebuild_dashboards", stdout=out, stderr=err)
    assert "Rebuilt" in out.getvalue()
    assert "analyze" in err.getvalue()  # the progress bar's last step
    assert (services.current_tallies(), services.current_rollups()) == before
    assert_matches_recount()
