"""Demo curriculum: a program, a virtual course in four languages, an on-site run for the demo
instructor with its sessions, and the demo learner enrolled (see `manage.py seed_demo`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone

from courses import services
from courses.models import (
    Course,
    CourseRun,
    CourseVersion,
    Lesson,
    Module,
    Program,
    ProgramCourse,
    RunInstructor,
    Session,
)
from lms.accounts import zones

LESSONS = [
    (
        Lesson.Kind.TEXT,
        {"es": "Principios básicos", "en": "Basic principles", "pt": "Princípios básicos",
         "fr": "Principes de base"},
        {"es": "<p>La función policial protege la dignidad y los derechos de todas las personas.</p>",
         "en": "<p>Policing protects the dignity and the rights of every person.</p>",
         "pt": "<p>A função policial protege a dignidade e os direitos de todas as pessoas.</p>",
         "fr": "<p>La mission de police protège la dignité et les droits de chaque personne.</p>"},
    ),
    (
        Lesson.Kind.TEXT,
        {"es": "Uso de la fuerza", "en": "Use of force", "pt": "Uso da força",
         "fr": "Usage de la force"},
        {"es": "<p>Legalidad, necesidad, proporcionalidad y rendición de cuentas.</p>",
         "en": "<p>Legality, necessity, proportionality and accountability.</p>",
         "pt": "<p>Legalidade, necessidade, proporcionalidade e responsabilização.</p>",
         "fr": "<p>Légalité, nécessité, proportionnalité et responsabilité.</p>"},
    ),
    (
        Lesson.Kind.VIDEO,
        {"es": "Caso práctico en video", "en": "Case study on video", "pt": "Estudo de caso em vídeo",
         "fr": "Étude de cas en vidéo"},
        {},
    ),
]  # fmt: skip

TRANSCRIPT = {
    "es": "Una patrulla atiende una protesta pacífica y aplica la reducción de tensiones.",
    "en": "A patrol attends a peaceful protest and applies de-escalation.",
    "pt": "Uma patrulha atende a um protesto pacífico e aplica a redução de tensões.",
    "fr": "Une patrouille intervient lors d'une manifestation pacifique et désamorce la tension.",
}


def seed(context: dict[str, Any]) -> None:
    people = context.get("people", {})
    institutions = context.get("institutions", {})
    ponal = institutions.get("PONAL")
    program, _ = Program.objects.get_or_create(
        code="police-management",
        defaults={
            "title": {
                "es": "Gestión policial",
                "en": "Police management",
                "pt": "Gestão policial",
                "fr": "Gestion policière",
            },  # fmt: skip
            "owner_institution": ponal,
            "ordered": True,
        },
    )
    if context.get("donor") is not None:
        # the demo donor funds the program: their dashboard shows its figures
        program.donors.add(context["donor"])
    course, created = Course.objects.get_or_create(
        code="human-rights-policing",
        defaults={
            "title": {
                "es": "Derechos humanos en la función policial",
                "en": "Human rights in policing",
                "pt": "Direitos humanos na função policial",
                "fr": "Droits humains dans la mission de police",
            },  # fmt: skip
            "description": {
                "es": "Principios y práctica para el servicio policial.",
                "en": "Principles and practice for police service.",
                "pt": "Princípios e prática para o serviço policial.",
                "fr": "Principes et pratique pour le service de police.",
            },  # fmt: skip
            "learning_outcomes": {
                "es": ["Aplicar los principios del uso de la fuerza"],
                "en": ["Apply the principles of the use of force"],
                "pt": ["Aplicar os princípios do uso da força"],
                "fr": ["Appliquer les principes de l'usage de la force"],
            },  # fmt: skip
            "languages": "es en pt fr",
            "credit_hours": 12,
            "owner_institution": ponal,
            "is_published": True,
        },
    )
    ProgramCourse.objects.get_or_create(program=program, course=course, defaults={"position": 1})
    version = course.current_version
    if version is None:
        version = CourseVersion.objects.create(
            course=course, number=1, min_attendance_pct=80, contact_hours=8, self_study_hours=4
        )
        module = Module.objects.create(
            version=version, position=1,
            title={"es": "Fundamentos", "en": "Foundations", "pt": "Fundamentos",
                   "fr": "Fondements"},
        )  # fmt: skip
        for position, (kind, title, body) in enumerate(LESSONS, start=1):
            Lesson.objects.create(
                version=version, module=module, position=position, kind=kind, title=title,
                body=body, transcript=TRANSCRIPT if kind == Lesson.Kind.VIDEO else {},
            )  # fmt: skip
        course.current_version = version
        course.save(update_fields=["current_version"])
    virtual, _ = CourseRun.objects.get_or_create(
        code="human-rights-virtual",
        defaults={
            "course": course,
            "version": version,
            "mode": CourseRun.Mode.VIRTUAL,
            "language": "es",
            "host_institution": ponal,
        },  # fmt: skip
    )
    today = timezone.localdate()
    onsite, made = CourseRun.objects.get_or_create(
        code="human-rights-bogota",
        defaults={
            "course": course, "version": version, "mode": CourseRun.Mode.ONSITE,
            "language": "es", "host_institution": ponal,
            "member_state": ponal.member_state if ponal else None,
            "venue": "Escuela de Cadetes General Santander, Bogotá", "capacity": 340,
            "requires_approval": True, "starts_on": today, "ends_on": today + timedelta(days=30),
        },
    )  # fmt: skip
    instructor = people.get("instructor@demo.lms")
    if made:
        # 08:00 in Bogotá, where the sessions are held (times are stored in UTC)
        zone = ZoneInfo(zones.member_state_zone(ponal.member_state_id if ponal else None))
        start = timezone.localtime(timezone.now(), zone).replace(
            hour=8, minute=0, second=0, microsecond=0
        )
        for day in range(5):
            Session.objects.create(
                run=onsite, starts_at=start + timedelta(days=7 * day),
                ends_at=start + timedelta(days=7 * day, hours=4), room=f"Aula {day + 1}",
                title={"es": f"Sesión {day + 1}", "en": f"Session {day + 1}"},
            )  # fmt: skip
    if instructor is not None:
        RunInstructor.objects.get_or_create(run=onsite, user=instructor)
    learner = people.get("learner@demo.lms")
    coordinator = people.get("coordinator@demo.lms")
    if learner is not None:
        services.enrol(user=learner, run=virtual, actor=learner)
        if coordinator is not None:
            services.enrol(user=learner, run=onsite, actor=coordinator)
    _requests_waiting(onsite, institutions.get("ECSAN") or ponal)
    context.update(program=program, course=course, runs={"virtual": virtual, "onsite": onsite})


# Cadets (no sign-in: the accounts have no password) who asked for a seat in the on-site run.
REQUESTS = [("cadete.mora@demo.lms", "Julián Mora"), ("cadete.diaz@demo.lms", "Sofía Díaz")]


def cadet(email: str, name: str, academy: Any) -> tuple[Any, bool]:
    """(the cadet, made): a Spanish-speaking officer of `academy` who cannot sign in (no
    password), made on first use. The demo's other apps use it for their cadets too."""
    from lms.accounts.models import User

    found = User.objects.filter(email=email).first()
    if found is not None:
        return found, False
    made = User.objects.create_user(
        email, None, full_name=name, preferred_language="es", institution=academy,
        status=User.Status.ACTIVE,
    )  # fmt: skip
    return made, True


def _requests_waiting(onsite: CourseRun, academy: Any) -> None:
    """Two requests for a seat in the on-site run, waiting for the coordinator's decision on the
    roster. Made once: a request decided in the demo stays decided on the next `make run`."""
    for email, name in REQUESTS:
        officer, made = cadet(email, name, academy)
        if made:
            services.enrol(user=officer, run=onsite, actor=officer)
