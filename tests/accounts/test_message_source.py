"""Kept message sources: multilingual parameters ({language: text}, as course titles) are kept
whole and shown in the reader's language, falling back as `lms.i18n.pick` does."""

from __future__ import annotations

import json

from django.utils import translation

from lms.accounts.message_source import render_source, source

TITLE = {"en": "Human rights in policing", "pt": "Direitos humanos na atividade policial", "es": ""}


def test_a_multilingual_parameter_is_kept_with_every_language() -> None:
    kept = source("%(course)s is accredited", "", {"course": TITLE, "version": 2})
    assert kept["params"]["course"] == {
        "i18n": {"en": "Human rights in policing", "pt": "Direitos humanos na atividade policial"}
    }
    assert json.loads(json.dumps(kept)) == kept


def test_a_multilingual_parameter_is_shown_in_the_readers_language() -> None:
    kept = source("%(course)s v%(version)s", "", {"course": TITLE, "version": 2})
    with translation.override("pt"):
        assert render_source(kept, "subject", "") == "Direitos humanos na atividade policial v2"
    with translation.override("en"):
        assert render_source(kept, "subject", "") == "Human rights in policing v2"
    # No Spanish text: the fallback is pick's, the site's default language.
    with translation.override("es"):
        assert render_source(kept, "subject", "") == "Human rights in policing v2"


def test_a_malformed_multilingual_parameter_shows_nothing_rather_than_failing() -> None:
    kept = {"subject": "%(course)s", "params": {"course": {"i18n": "not a mapping"}}}
    assert render_source(kept, "subject", "as sent") == ""
