"""Demo accreditation: the demo course's current version, submitted by the demo coordinator and
accredited by the demo university through the state machine (see `manage.py seed_demo`)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from accreditation import services
from accreditation.models import AccreditationRequest

DOSSIER: dict[str, Any] = {
    "syllabus": [
        {
            "module": "Marco internacional de los derechos humanos",
            "sessions": [
                {"title": "Normas internacionales aplicables a la policía", "hours": "2"},
                {"title": "Principios de legalidad, necesidad y proporcionalidad", "hours": "2"},
            ],
        },
        {
            "module": "Práctica policial",
            "sessions": [
                {"title": "Uso de la fuerza y armas de fuego", "hours": "2"},
                {"title": "Detención y trato de personas privadas de libertad", "hours": "2"},
            ],
        },
    ],
    "learning_outcomes": [
        "Aplica los principios del uso de la fuerza en situaciones operativas",
        "Explica las obligaciones internacionales del Estado en la función policial",
    ],
    "framework": AccreditationRequest.Framework.EQF,
    "level": "5",
    "delivery_mode": AccreditationRequest.DeliveryMode.BLENDED,
    "assessment_methods": "Cuestionario en línea y ejercicio práctico supervisado.",
    "passing_rules": "Puntaje mínimo del 70 % y asistencia mínima del 80 % en sesiones presenciales.",
    "instructors": [
        {
            "name": "Isabel Rojas",
            "qualifications": "Magíster en Derechos Humanos; instructora certificada",
        }
    ],
}


def seed(context: dict[str, Any]) -> None:
    course = context.get("course")
    university = context.get("university")
    people = context.get("people", {})
    coordinator = people.get("coordinator@demo.lms")
    validator = people.get("validator@demo.lms")
    if course is None or university is None or course.current_version is None:
        return
    if coordinator is None or validator is None:
        return
    version = course.current_version
    existing = AccreditationRequest.objects.filter(
        course_version=version, university=university
    ).first()
    if existing is None:
        request = services.create_request(
            course_version=version, university=university, actor=coordinator, **DOSSIER
        )
        request = services.submit_request(request=request, actor=coordinator)
        services.assign_reviewer(request=request, reviewer=validator, actor=validator)
        services.add_comment(
            request=request,
            actor=validator,
            body="El programa cumple los criterios de la red; se aprueba por tres años.",
        )
        existing = services.approve(
            request=request,
            actor=validator,
            credit_hours=Decimal("12"),
            hours_per_credit=25,
            valid_from=timezone.localdate() - timedelta(days=30),
            validity_years=3,
            quality_assurance="Revisión por pares de dos docentes de la universidad.",
        )
    context["accreditation"] = existing
