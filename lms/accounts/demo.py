"""Demo organisations and one person for each role (see `manage.py seed_demo`)."""

from __future__ import annotations

from typing import Any

from lms.accounts.models import (
    Donor,
    Institution,
    MemberState,
    Role,
    RoleAssignment,
    University,
    User,
)

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - printed on the console for the demo only

INSTITUTIONS = [
    ("CO", "Policía Nacional de Colombia", "PONAL", "es"),
    ("BR", "Polícia Federal do Brasil", "PF", "pt"),
    ("HT", "Police Nationale d'Haïti", "PNH", "fr"),
    ("JM", "Jamaica Constabulary Force", "JCF", "en"),
    ("CL", "Carabineros de Chile", "CARAB", "es"),
]

PEOPLE = [
    ("dps@demo.lms", "Diana Pérez", Role.DPS_ADMIN, None, "es"),
    ("coordinator@demo.lms", "Carlos Gómez", Role.COORDINATOR, "PONAL", "es"),
    ("instructor@demo.lms", "Isabel Rojas", Role.INSTRUCTOR, "PONAL", "es"),
    ("learner@demo.lms", "Luis Martínez", Role.LEARNER, "PONAL", "es"),
    ("officer.br@demo.lms", "Ana Souza", Role.LEARNER, "PF", "pt"),
    ("officer.ht@demo.lms", "Jean Baptiste", Role.LEARNER, "PNH", "fr"),
    ("validator@demo.lms", "Valeria Castro", Role.VALIDATOR, None, "es"),
    ("donor@demo.lms", "Dana Brooks", Role.DONOR, None, "en"),
]


def seed(context: dict[str, Any]) -> None:
    institutions: dict[str, Institution] = {}
    for code, name, short, _lang in INSTITUTIONS:
        state = MemberState.objects.get(code=code)
        created_institution, _ = Institution.objects.get_or_create(
            parent=None,
            name=name,
            defaults={
                "short_name": short,
                "member_state": state,
                "kind": Institution.Kind.NATIONAL_POLICE,
            },
        )
        institutions[short] = created_institution
    academy, _ = Institution.objects.get_or_create(
        parent=institutions["PONAL"],
        name="Escuela de Cadetes General Santander",
        defaults={
            "short_name": "ECSAN",
            "member_state": institutions["PONAL"].member_state,
            "kind": Institution.Kind.ACADEMY,
        },
    )
    institutions["ECSAN"] = academy
    university, _ = University.objects.get_or_create(
        name="Universidad de la Red Policial Interamericana",
        defaults={
            "short_name": "URPI",
            "member_state": MemberState.objects.get(code="CO"),
            "is_coordinating": True,
        },
    )
    donor, _ = Donor.objects.get_or_create(name="Fund for Citizen Security")
    people: dict[str, User] = {}
    for email, full_name, role, institution_key, language in PEOPLE:
        institution: Institution | None = (
            institutions.get(institution_key) if institution_key else None
        )
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(
                email,
                DEMO_PASSWORD,
                full_name=full_name,
                preferred_language=language,
                institution=institution,
                status=User.Status.ACTIVE,
                is_staff=role == Role.DPS_ADMIN,
            )
        scope: dict[str, Any] = {}
        if role in (Role.COORDINATOR, Role.INSTRUCTOR):
            scope["institution"] = institution
        if role == Role.VALIDATOR:
            scope["university"] = university
        if role == Role.DONOR:
            scope["donor"] = donor
        if role != Role.LEARNER:
            RoleAssignment.objects.get_or_create(user=user, role=role, **scope)
        people[email] = user
        context["logins"].append((email, DEMO_PASSWORD, str(role.label)))
    context.update(institutions=institutions, university=university, donor=donor, people=people)
