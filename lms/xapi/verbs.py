"""The verbs the platform emits: short key -> IRI and display in the four languages."""

from __future__ import annotations

from typing import TypedDict


class VerbInfo(TypedDict):
    id: str
    display: dict[str, str]


def _verb(iri: str, en: str, es: str, pt: str, fr: str) -> VerbInfo:
    return {"id": iri, "display": {"en-US": en, "es": es, "pt": pt, "fr": fr}}


_ADL = "http://adlnet.gov/expapi/verbs/"

VERBS: dict[str, VerbInfo] = {
    "registered": _verb(
        _ADL + "registered", "registered", "se inscribió", "inscreveu-se", "inscrit"
    ),
    "launched": _verb(_ADL + "launched", "launched", "inició", "iniciou", "lancé"),
    "initialized": _verb(
        _ADL + "initialized", "initialized", "inicializó", "inicializou", "initialisé"
    ),
    "experienced": _verb(
        _ADL + "experienced", "experienced", "experimentó", "experimentou", "expérimenté"
    ),
    "progressed": _verb(_ADL + "progressed", "progressed", "progresó", "progrediu", "progressé"),
    "completed": _verb(_ADL + "completed", "completed", "completó", "concluiu", "terminé"),
    "answered": _verb(_ADL + "answered", "answered", "respondió", "respondeu", "a répondu"),
    "attempted": _verb(_ADL + "attempted", "attempted", "intentó", "tentou", "a tenté"),
    "passed": _verb(_ADL + "passed", "passed", "aprobó", "foi aprovado", "a réussi"),
    "failed": _verb(_ADL + "failed", "failed", "reprobó", "foi reprovado", "a échoué"),
    "scored": _verb(_ADL + "scored", "scored", "obtuvo puntuación", "pontuou", "a obtenu un score"),
    "attended": _verb(_ADL + "attended", "attended", "asistió", "compareceu", "a assisté"),
    "commented": _verb(_ADL + "commented", "commented", "comentó", "comentou", "a commenté"),
    "terminated": _verb(_ADL + "terminated", "terminated", "finalizó", "finalizou", "a terminé"),
    "voided": _verb(_ADL + "voided", "voided", "anuló", "anulou", "a annulé"),
    "earned": _verb(
        "http://id.tincanapi.com/verb/earned", "earned", "obtuvo", "obteve", "a obtenu"
    ),
    "withdrew": _verb(
        "https://w3id.org/xapi/dod-isd/verbs/withdrew",
        "withdrew",
        "se retiró",
        "desistiu",
        "s'est retiré",
    ),
}

VOIDED_IRI = VERBS["voided"]["id"]
