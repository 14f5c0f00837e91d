"""Demo data of the certification app: a bilingual template for the demo course, its signatory
for the certificates of the course's programs too, and a signed certificate for the demo learner
(from a closed past run), so My certificates and the public verification page have something to
show."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import F
from django.utils import timezone

from certification import services
from certification.models import Certificate, CertificateTemplate
from courses.models import CourseRun, Enrollment, Program

SIGNATORY: dict[str, Any] = {
    "signatory_name": "Directora de Formación",
    "signatory_title": {
        "es": "Dirección de Formación Policial",
        "en": "Police Training Directorate",
        "pt": "Direção de Formação Policial",
        "fr": "Direction de la formation policière",
    },
}


def seed(context: dict[str, Any]) -> None:
    course = context.get("course")
    people = context.get("people", {})
    learner = people.get("learner@demo.lms")
    if course is None or course.current_version_id is None:
        return
    CertificateTemplate.objects.get_or_create(
        course=course,
        defaults={
            "layout": CertificateTemplate.Layout.BILINGUAL,
            "second_language": "en",
            **SIGNATORY,
            "assessment_type": {
                "es": "Examen escrito y evaluación práctica presencial",
                "en": "Written exam and on-site practical evaluation",
                "pt": "Prova escrita e avaliação prática presencial",
                "fr": "Examen écrit et évaluation pratique sur place",
            },
            "validity_years": 3,
        },
    )
    # the programs of the demo course sign their certificates too (issued when it is completed)
    for program in Program.objects.filter(program_courses__course=course):
        CertificateTemplate.objects.get_or_create(program=program, defaults=SIGNATORY)
    if learner is None:
        return
    today = timezone.localdate()
    run, _created = CourseRun.objects.get_or_create(
        code="demo-certified-past-run",
        defaults={
            "course": course,
            "version_id": course.current_version_id,
            "mode": CourseRun.Mode.ONSITE,
            "status": CourseRun.Status.CLOSED,
            "host_institution": course.owner_institution,
            "starts_on": today - timedelta(days=60),
            "ends_on": today - timedelta(days=30),
            "self_enrolment": False,
        },
    )
    enrollment, enrolled = Enrollment.objects.get_or_create(
        user=learner,
        run=run,
        defaults={
            "version_id": run.version_id,
            "status": Enrollment.Status.COMPLETED,
            "enrolled_at": timezone.now() - timedelta(days=60),
            "completed_at": timezone.now() - timedelta(days=30),
            "progress_pct": 100,
            "institution": learner.institution,
            "member_state": getattr(learner.institution, "member_state", None),
        },
    )
    if enrolled:  # the run's counters, as enrolling and completing through the services keep them
        CourseRun.objects.filter(pk=run.pk).update(
            active_count=F("active_count") + 1, completed_count=F("completed_count") + 1
        )
    certificate = Certificate.objects.filter(user=learner, run=run).first()
    if certificate is None:
        certificate = services.issue_course_certificate(enrollment_id=enrollment.pk)
    context["certificate"] = certificate
