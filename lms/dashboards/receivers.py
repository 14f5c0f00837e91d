"""Receivers of the courses and certification signals: keep the aggregates current and push
live updates. Connected in DashboardsConfig.ready(); the signals are sent after commit, except
lesson_completed_in_transaction (on_lesson_completed), which writes in the sender's transaction."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from courses.models import Enrollment
from lms.dashboards import live, services


def _institution_path(institution_id: int | None) -> str:
    from lms.accounts.models import Institution

    if not institution_id:
        return ""
    return (
        Institution.objects.filter(pk=institution_id).values_list("path", flat=True).first() or ""
    )


def _path_of(enrollment: Enrollment) -> str:
    """The path of the enrolment's institution: read with the enrolment when the sender did (a
    run's completions announced together), else one query."""
    if Enrollment._meta.get_field("institution").is_cached(enrollment):
        institution = enrollment.institution
        return institution.path if institution is not None else ""
    return _institution_path(enrollment.institution_id)


def on_enrollment_changed(
    sender: Any, enrollment: Enrollment, from_status: str, to_status: str, **kwargs: Any
) -> None:
    on_enrollments_changed(sender, changes=[(enrollment, from_status or "", to_status)])


def on_enrollments_changed(
    sender: Any, changes: list[tuple[Enrollment, str, str]], **kwargs: Any
) -> None:
    """The counters moved once for all the changes, and one live update per institution and
    run with the number newly enrolled (a bulk enrolment of thousands is a few messages)."""
    services.record_enrolment_changes(changes)
    enrolled: dict[tuple[int | None, int], int] = {}
    for enrollment, from_status, to_status in changes:
        if to_status != from_status and Enrollment.Status.ACTIVE in (to_status, from_status):
            key = (enrollment.institution_id, enrollment.run_id)
            enrolled[key] = enrolled.get(key, 0) + int(to_status == Enrollment.Status.ACTIVE)
    for (institution_id, run_id), count in enrolled.items():
        live.publish(
            live.groups_for(
                institution_path=_institution_path(institution_id),
                run_id=run_id,
                course_id=None,
            ),
            {"event": "enrolment", "counters": {"enrolled": count}},
        )


def on_lessons_completed(
    sender: Any, completions: list[tuple[Enrollment, Any]], **kwargs: Any
) -> None:
    """on_lesson_completed for many at once (a run's released grades): one round trip."""
    now = timezone.now()
    services.record_activities(
        (enrollment, enrollment.last_activity_at or now) for enrollment, _lesson in completions
    )


def on_lesson_completed(sender: Any, enrollment: Enrollment, lesson: Any, **kwargs: Any) -> None:
    """The learner's activity dates, in the transaction that completed the lesson (one statement
    on PostgreSQL); nothing live, so nothing to wait for the commit."""
    services.record_activity(
        enrollment=enrollment, at=enrollment.last_activity_at or timezone.now()
    )


def on_course_completed(sender: Any, enrollment: Enrollment, **kwargs: Any) -> None:
    """The counters moved with enrollment_changed; here the completion is announced live."""
    live.publish(*_completion(enrollment))


def on_courses_completed(sender: Any, enrollments: list[Enrollment], **kwargs: Any) -> None:
    """Many completions at once (a run's released grades): announced together, one message a
    group for up to live.BATCH of them, instead of one message per group and completion."""
    live.publish_many([_completion(enrollment) for enrollment in enrollments])


def _completion(enrollment: Enrollment) -> tuple[list[str], dict[str, Any]]:
    """The groups that hear of a completion, and what they hear."""
    run = enrollment.run
    groups = live.groups_for(
        institution_path=_path_of(enrollment), run_id=enrollment.run_id, course_id=run.course_id
    )
    return groups, {
        "event": "completion",
        "key": f"completion-{enrollment.pk}",
        "counters": {"completed": 1},
        "name": enrollment.user.full_name,
        "course": run.course.title,
        "run": run.code,
        "at": (enrollment.completed_at or timezone.now()).isoformat(),
    }


def on_attendance_recorded(sender: Any, session: Any, records: list[Any], **kwargs: Any) -> None:
    services.record_attendance(record_ids=[record.pk for record in records])


def on_certificate_issued(sender: Any, certificate: Any, **kwargs: Any) -> None:
    on_certificates_issued(sender, certificates=[certificate])


def on_certificates_issued(sender: Any, certificates: list[Any], **kwargs: Any) -> None:
    """One certificate or a bulk batch: one read of what the counters need, one upsert per tally
    table, and the live updates queued (sent by live's own thread, not waited for)."""
    if not certificates:
        return
    facts = services.certificate_facts(certificate.pk for certificate in certificates)
    services.record_certificates(certificate_ids=(), revoked=False, facts=facts)
    for row in facts:
        live.publish(
            live.groups_for(
                institution_path=row["path"] or "",
                run_id=row["run_id"],
                course_id=row["course_id"],
            ),
            {
                "event": "certificate",
                "key": f"certificate-{row['pk']}",
                "counters": {"certificates": 1},
            },
        )


def on_certificate_revoked(sender: Any, certificate: Any, **kwargs: Any) -> None:
    services.record_certificate(certificate=certificate, revoked=True)
