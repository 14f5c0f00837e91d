"""Second QA round on the dashboards: filters naming nothing, and the programme certificates'
row of a breakdown by run."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.utils import translation

from lms.dashboards import services

pytestmark = pytest.mark.usefixtures("require_postgres", "without_certificate_issuance")
HOME = "/dashboards/"


# 7. Unknown ids are refused naming the filter -------------------------------------------------


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("member_state", "Member state"),
        ("institution", "Institution"),
        ("program", "Program"),
        ("course", "Course"),
        ("run", "Course run"),
    ],
)
def test_an_unknown_id_is_refused_naming_the_filter(
    client: Any, dps_admin: Any, name: str, label: str
) -> None:
    client.force_login(dps_admin)
    with translation.override("en"):
        for value in ("999999", "abc", "9" * 30):
            response = client.get(HOME, {name: value})
            assert response.status_code == 400, value
            assert f"{label}: choose a value from the list." in response.content.decode()


def test_a_known_id_still_filters(
    client: Any, dps_admin: Any, activity: Any, institution: Any, network: dict[str, Any]
) -> None:
    client.force_login(dps_admin)
    response = client.get(HOME, {"member_state": institution.member_state_id})
    assert response.status_code == 200
    response = client.get(HOME, {"institution": institution.pk, "program": network["program"].pk})
    assert response.status_code == 200
    assert response.context["figures"].enrolled == 1
    run = network["virtual"]
    assert client.get(HOME, {"run": run.pk, "course": run.course_id}).status_code == 200


def test_a_coordinators_id_outside_their_lens_shows_nothing_of_it(
    client: Any, coordinator: Any, activity: Any, other_institution: Any
) -> None:
    """Another institution exists, so it is no bad filter; the lens still shows none of it."""
    client.force_login(coordinator)
    response = client.get(HOME, {"institution": other_institution.pk})
    assert response.status_code == 200
    assert response.context["figures"].enrolled == 0
    assert client.get(HOME, {"institution": 999999}).status_code == 400


# 8. Program certificates have no run ----------------------------------------------------------


def test_program_certificates_are_named_in_a_breakdown_by_run(
    client: Any, dps_admin: Any, activity: Any, network: dict[str, Any], officers: list[Any]
) -> None:
    from certification.models import Certificate

    for number, officer in enumerate(officers[:3]):
        Certificate.objects.create(
            code=f"PROG-{number}",
            kind=Certificate.Kind.PROGRAM,
            user=officer,
            program=network["program"],
            institution=officer.institution,
            holder_name=officer.full_name,
            status_index=987_000 + number,
        )
    services.rebuild()
    client.force_login(dps_admin)
    with translation.override("en"):
        response = client.get(HOME, {"by": "run", "format": "csv"})
        body = b"".join(response.streaming_content).decode("utf-8-sig")
        header, *lines = csv.reader(io.StringIO(body))
        page = client.get(HOME, {"by": "run"}).content.decode()
    rows = {line[0]: line for line in lines}
    certificates = header.index("Certificates issued")
    row = rows["Program certificates (no run)"]
    assert (row[1], row[certificates]) == ("0", "3")
    assert "Not recorded" not in rows
    assert "Program certificates (no run)" in page
    with translation.override("en"):
        for by in ("course", "mode", "language"):
            labels = [row.label for row in client.get(HOME, {"by": by}).context["all_rows"]]
            assert "Program certificates (no run)" in labels, by
            assert "Not recorded" not in labels, by
