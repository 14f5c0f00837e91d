"""Demo forums, library items and directory entries (see `manage.py seed_demo`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils import timezone

from community import services
from community.models import Forum, InstitutionProfile, LibraryItem, QualityCertification, Theme

TOPICS = [
    (
        "crime-prevention",
        {
            "en": "Crime prevention",
            "es": "Prevención del delito",
            "pt": "Prevenção do crime",
            "fr": "Prévention de la criminalité",
        },
    ),
    (
        "community-policing",
        {
            "en": "Community policing",
            "es": "Policía comunitaria",
            "pt": "Policiamento comunitário",
            "fr": "Police de proximité",
        },
    ),
    (
        "police-management",
        {
            "en": "Police management",
            "es": "Gestión policial",
            "pt": "Gestão policial",
            "fr": "Gestion policière",
        },
    ),
]

ITEMS = [
    (
        "es",
        "Buenas prácticas de policía comunitaria en barrios urbanos",
        "Experiencias de patrullaje de proximidad con participación de los vecinos.",
        "<p>Los policías comunitarios trabajan con las juntas de vecinos para prevenir delitos.</p>",
        "community-policing",
        "CO",
    ),
    (
        "pt",
        "Policiamento comunitário e redução de homicídios",
        "Como as polícias estaduais aproximaram-se das comunidades.",
        "<p>Os programas de policiamento comunitário reduziram os homicídios em vários estados.</p>",
        "community-policing",
        "BR",
    ),
]


def seed(context: dict[str, Any]) -> None:
    for slug, topic_title in TOPICS:
        Forum.objects.get_or_create(
            slug=slug, defaults={"kind": Forum.Kind.TOPIC, "title": topic_title}
        )
        Theme.objects.get_or_create(slug=slug, defaults={"name": topic_title})
    dps = context["people"]["dps@demo.lms"]
    for language, title, summary, body, theme, state in ITEMS:
        if LibraryItem.objects.filter(title=title).exists():
            continue
        item = services.save_library_item(
            author=dps,
            kind=LibraryItem.Kind.BEST_PRACTICE,
            title=title,
            summary=summary,
            body=body,
            language=language,
            themes=list(Theme.objects.filter(slug=theme)),
            member_states=[
                context["institutions"]["PONAL" if state == "CO" else "PF"].member_state
            ],
        )
        LibraryItem.objects.filter(pk=item.pk).update(
            status=LibraryItem.Status.PUBLISHED, published_at=timezone.now(), reviewed_by=dps
        )
    ponal = context["institutions"]["PONAL"]
    InstitutionProfile.objects.get_or_create(
        institution=ponal,
        defaults={
            "contact_name": "Carlos Gómez",
            "contact_email": "coordinator@demo.lms",
            "address": "Bogotá, Colombia",
        },
    )
    QualityCertification.objects.get_or_create(
        institution=ponal,
        standard="ISO 9001:2015",
        defaults={
            "scope": "Formación policial y gestión académica",
            "certified_on": date(2024, 3, 1),
            "valid_until": date(2027, 3, 1),
        },
    )
    for short in ("PONAL", "PF", "PNH"):
        services.forum_for_institution(institution=context["institutions"][short])
