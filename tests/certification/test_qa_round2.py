"""QA round 2 of the certification app: the printed figures and "label: value" facts follow the
certificate's language, a program certificate prints its signatory (or no empty line), holders are told their
certificate is issued, and the bulk verification and officer pages write dates as the reader's
language does."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import formats, timezone, translation

from accreditation.models import AccreditationRequest
from certification import services
from certification.models import Certificate, CertificateTemplate
from certification.rendering import certificate_html
from certification.selectors import holder_for, sheet_for
from courses.models import Program, ProgramCourse
from lms.accounts.models import Notification
from tests.accreditation.factories import RequestFactory
from tests.certification.factories import RunFactory, completed
from tests.factories import UniversityFactory, UserFactory

pytestmark = pytest.mark.django_db


def _accredited(enrollment: Any) -> None:
    RequestFactory(
        course_version=enrollment.version,
        university=UniversityFactory(name="Université du réseau de police"),
        status=AccreditationRequest.Status.APPROVED,
        reference="URPI-2026-00042",
        credit_hours=Decimal("75.0"),
        ects_credits=Decimal("0.5"),
        ceu=Decimal("0.8"),
        valid_from=date(2020, 1, 1),
        valid_until=date(2099, 12, 31),
        decided_at=timezone.now(),
    )


def _html(certificate: Certificate) -> str:
    _key, sheet = sheet_for(certificate)
    return certificate_html(sheet, holder_for(certificate))


def _certificate_in(language: str, run: Any, institution: Any) -> Certificate:
    learner = UserFactory(institution=institution, preferred_language=language)
    enrollment = completed(learner, run)
    _accredited(enrollment)
    certificate = services.issue_course_certificate(enrollment_id=enrollment.pk)
    assert certificate is not None
    assert certificate.language == language
    return certificate


def test_french_pdf_prints_figures_and_dates_the_french_way(run: Any, institution: Any) -> None:
    certificate = _certificate_in("fr", run, institution)
    html = " ".join(_html(certificate).split())
    assert "0,5 ECTS" in html
    assert "0,8 CEU" in html
    assert "75,0" in html
    assert "0.5" not in html
    assert "0.8" not in html
    with translation.override("fr"):
        issued = formats.date_format(certificate.issued_at.date(), "DATE_FORMAT")
    assert issued in html


def test_english_pdf_states_each_fact_as_one_string(run: Any, institution: Any) -> None:
    CertificateTemplate.objects.create(course=run.course, validity_years=3)
    certificate = _certificate_in("en", run, institution)
    html = _html(certificate)
    assert "<b>Hours:</b> 75.0" in html
    assert "0.5 ECTS" in html
    assert "<b>Issued on:</b> " in html
    assert "<b>Valid until:</b> " in html
    assert "<b>Form of participation:</b> Virtual" in html


def test_french_puts_a_space_before_the_colon(run: Any, institution: Any) -> None:
    CertificateTemplate.objects.create(course=run.course, validity_years=3)
    certificate = _certificate_in("fr", run, institution)
    html = _html(certificate)
    assert "<b>Heures :</b> 75,0" in html
    assert "<b>Délivré le :</b> " in html
    assert "<b>Valable jusqu’au :</b> " in html
    assert "<b>Mode de participation :</b> " in html


def _program_certificate(learner: Any, institution: Any) -> Certificate:
    program = Program.objects.create(
        code="police-management", title={"en": "Police management"}, owner_institution=institution
    )
    run = RunFactory(host_institution=institution)
    ProgramCourse.objects.create(program=program, course=run.course, position=1)
    services.issue_course_certificate(enrollment_id=completed(learner, run).pk)
    certificate = services.issue_program_certificate(user_id=learner.pk, program_id=program.pk)
    assert certificate is not None
    return certificate


def test_program_certificate_prints_its_signatory(learner: Any, institution: Any) -> None:
    certificate = _program_certificate(learner, institution)
    CertificateTemplate.objects.create(
        program=certificate.program,
        signatory_name="Directora de Formación",
        signatory_title={"en": "Police Training Directorate"},
    )
    html = _html(certificate)
    assert '<div class="line">Directora de Formación<br>Police Training Directorate</div>' in html


def test_program_certificate_without_signatory_prints_no_empty_line(
    learner: Any, institution: Any
) -> None:
    html = _html(_program_certificate(learner, institution))
    assert 'class="sign"' not in html
    assert 'class="line"' not in html


def test_demo_programs_have_a_signatory(institution: Any) -> None:
    from certification import demo

    run = RunFactory(host_institution=institution)
    run.course.current_version = run.version
    run.course.save(update_fields=["current_version"])
    program = Program.objects.create(
        code="demo", title={"en": "Demo"}, owner_institution=institution
    )
    ProgramCourse.objects.create(program=program, course=run.course, position=1)
    demo.seed({"course": run.course, "people": {}})
    template = CertificateTemplate.objects.get(program=program)
    assert template.signatory_name
    assert template.signatory_title["fr"]


def test_issuing_a_certificate_notifies_its_holder(
    enrollment: Any, learner: Any, django_capture_on_commit_callbacks: Any, mailoutbox: Any
) -> None:
    bystander = UserFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        certificate = services.issue_course_certificate(enrollment_id=enrollment.pk)
    assert certificate is not None
    assert mailoutbox == []  # nothing is sent before the certificate is committed
    notice = Notification.objects.get()
    assert notice.user_id == learner.pk
    assert notice.url == reverse("certification:my_certificates")
    assert notice.subject == "Certificate issued: Strategic police management"
    assert not Notification.objects.filter(user=bystander).exists()
    for callback in callbacks:
        callback()
    assert [message.to for message in mailoutbox] == [[learner.email]]
    # issuing again finds the certificate issued: no second notice
    services.issue_course_certificate(enrollment_id=enrollment.pk)
    assert Notification.objects.count() == 1


def test_program_certificate_notifies_its_holder(learner: Any, institution: Any) -> None:
    certificate = _program_certificate(learner, institution)
    notices = Notification.objects.filter(user=learner).order_by("pk")
    assert [n.subject for n in notices] == [
        "Certificate issued: Strategic police management",
        "Certificate issued: Police management",
    ]
    assert certificate.title_in("en") == "Police management"


@pytest.mark.usefixtures("require_postgres")
def test_bulk_issue_notifies_in_one_call_and_bounded_queries(
    run: Any, institution: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lms.accounts import notifications

    calls: list[int] = []
    real_notify = notifications.notify

    def counting(**kwargs: Any) -> None:
        calls.append(len(list(kwargs["recipients"])))
        real_notify(**kwargs)

    monkeypatch.setattr(notifications, "notify", counting)
    ids = [completed(UserFactory(institution=institution), run).pk for _ in range(31)]
    services.issue_course_certificate(enrollment_id=ids[0])  # lays the run's page out
    counts = []
    for batch in (ids[1:6], ids[6:]):
        with CaptureQueriesContext(connection) as captured:
            services.issue_course_certificates(enrollment_ids=batch)
        counts.append(len(captured))
    assert counts[0] == counts[1], counts
    assert calls == [1, 5, 25]  # one notify() a batch, with all its holders
    holders = Notification.objects.values_list("user_id", flat=True)
    assert sorted(holders) == sorted(
        Certificate.objects.filter(run=run).values_list("user_id", flat=True)
    )


def _in_french(user: Any) -> None:
    user.preferred_language = "fr"
    user.save(update_fields=["preferred_language"])


def test_bulk_verification_page_writes_dates_in_french(
    certificate: Certificate, dps_admin: Any, client: Any
) -> None:
    Certificate.objects.filter(pk=certificate.pk).update(
        issued_at=datetime(2023, 12, 6, 12, tzinfo=UTC), expires_on=date(2026, 12, 6)
    )
    _in_french(dps_admin)
    client.force_login(dps_admin)
    page = client.post(
        reverse("certification:verify_many"),
        {"codes_text": certificate.code},
        HTTP_ACCEPT_LANGUAGE="fr",
    ).content.decode()
    assert '<time datetime="2023-12-06">6 décembre 2023</time>' in page
    assert '<time datetime="2026-12-06">6 décembre 2026</time>' in page
    # the machine-readable answer keeps ISO dates
    facts = client.get(reverse("certification:verify_json", args=[certificate.code])).json()
    assert (facts["issued_on"], facts["expires_on"]) == ("2023-12-06", "2026-12-06")


def test_officer_page_writes_dates_in_french(
    enrollment: Any, learner: Any, dps_admin: Any, client: Any
) -> None:
    type(enrollment).objects.filter(pk=enrollment.pk).update(
        enrolled_at=datetime(2026, 3, 2, 12, tzinfo=UTC),
        completed_at=datetime(2026, 12, 6, 12, tzinfo=UTC),
    )
    _in_french(dps_admin)
    client.force_login(dps_admin)
    url = reverse("dashboards:officer", args=[learner.pk])
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "<td>2 mars 2026</td>" in page
    assert "<td>6 décembre 2026</td>" in page
    assert "2026-12-06" not in page
    # the exports keep ISO dates
    assert "2026-12-06" in b"".join(client.get(url, {"format": "csv"}).streaming_content).decode()
