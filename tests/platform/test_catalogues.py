"""Every catalogue is whole: each message translated, none fuzzy, each plural in every form its
language's rule asks for.

Spanish's plural rule has three forms (one, many for millions, other); an entry with two made
gettext fall back to English for every count but one: the officers' import page said "Nothing
was imported: 2 errors." to Spanish readers.
"""

from __future__ import annotations

import re
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.utils import translation
from django.utils.translation import ngettext

ROOT = Path(settings.BASE_DIR)
CATALOGUES = sorted(
    path
    for path in ROOT.glob("**/locale/*/LC_MESSAGES/django.po")
    if not {".venv", ".tools", "var"} & set(path.relative_to(ROOT).parts)
)


def test_there_are_catalogues_for_every_language() -> None:
    languages = {path.parts[-3] for path in CATALOGUES}
    assert languages == {"es", "pt", "fr"}
    assert len(CATALOGUES) >= 27


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_catalogue_is_whole(path: Path) -> None:
    catalogue = polib.pofile(str(path))
    forms = re.search(r"nplurals\s*=\s*(\d+)", catalogue.metadata.get("Plural-Forms", ""))
    assert forms, "no Plural-Forms header"
    plurals = int(forms.group(1))
    untranslated = [entry.msgid for entry in catalogue.untranslated_entries()]
    fuzzy = [entry.msgid for entry in catalogue.fuzzy_entries()]
    short = [
        entry.msgid
        for entry in catalogue.translated_entries()
        if entry.msgid_plural
        and (
            sorted(entry.msgstr_plural) != list(range(plurals))
            or not all(entry.msgstr_plural.values())
        )
    ]
    assert (untranslated, fuzzy, short) == ([], [], [])


@pytest.mark.parametrize(
    ("count", "expected"),
    [(1, "No se importó nada: 1 error."), (2, "No se importó nada: 2 errores.")],
)
def test_a_spanish_plural_reads_in_spanish_for_every_count(count: int, expected: str) -> None:
    with translation.override("es"):
        text = ngettext(
            "Nothing was imported: %(counter)s error.",
            "Nothing was imported: %(counter)s errors.",
            count,
        ) % {"counter": count}
    assert text == expected


@pytest.mark.parametrize("language", ["es", "pt", "fr"])
def test_a_message_reads_the_same_in_every_catalogue(language: str) -> None:
    """Django merges the catalogues of a language into one, where a message has one
    translation: the first in LOCALE_PATHS and INSTALLED_APPS order wins. The same English text
    translated two ways in two apps showed the winner's everywhere: a certificate's status read
    "Vigencia" (an accreditation's validity period) instead of "Válido", and a course run open
    for enrolment "Abrir" (the notification's button). A message whose meaning differs between
    apps takes a context (pgettext, {% translate … context … %}) instead."""
    found: dict[tuple[str | None, str], dict[str, str]] = {}
    for path in CATALOGUES:
        if path.parts[-3] != language:
            continue
        for entry in polib.pofile(str(path)):
            if entry.obsolete:
                continue
            text = entry.msgstr or repr(sorted(entry.msgstr_plural.items()))
            found.setdefault((entry.msgctxt, entry.msgid), {})[str(path.relative_to(ROOT))] = text
    differing = {key: where for key, where in found.items() if len(set(where.values())) > 1}
    assert differing == {}


def test_words_of_different_meanings_read_as_their_pages_mean() -> None:
    from accreditation.models import AccreditationRequest
    from certification.models import Certificate
    from community.models import Report
    from courses.models import CourseRun

    with translation.override("es"):
        assert str(Certificate.Status.VALID.label) == "Válido"
        assert str(CourseRun.Status.OPEN.label) == "Abierta"
        assert str(Report.Status.OPEN.label) == "Abierto"
        assert str(AccreditationRequest.Status.REJECTED.label) == "Rechazada"
        assert translation.pgettext("certificate", "Valid until") == "Válido hasta"
        assert translation.gettext("Validity") == "Vigencia"
        assert translation.gettext("Open") == "Abrir"


@pytest.mark.parametrize("language", ["es", "pt", "fr"])
def test_every_message_reads_as_our_catalogue_says(language: str) -> None:
    """What a reader sees is our translation, not Django's or a library's for the same English
    text: the admin's catalogue (earlier in INSTALLED_APPS) had our filter buttons read "Filtro"
    and our Portuguese pages "palavra-passe"; our catalogues are in LOCALE_PATHS now, which
    win over every app's."""
    wrong = []
    with translation.override(language):
        for path in CATALOGUES:
            if path.parts[-3] != language:
                continue
            for entry in polib.pofile(str(path)):
                if entry.obsolete or entry.msgid_plural or not entry.msgstr:
                    continue
                shown = (
                    translation.pgettext(entry.msgctxt, entry.msgid)
                    if entry.msgctxt
                    else translation.gettext(entry.msgid)
                )
                if shown != entry.msgstr:
                    wrong.append((entry.msgid, entry.msgstr, shown))
    assert wrong == []


def test_djangos_own_words_read_in_brazilian_portuguese() -> None:
    """Our Portuguese is Brazil's: the password form and validators (Django's messages, not
    ours) read "senha", not Portugal's "palavra-passe" (compile_catalogues builds Django's pt_BR
    as our pt; make test compiles first)."""
    from django.contrib.auth.forms import SetPasswordForm

    with translation.override("pt"):
        assert translation.gettext("New password") == "Nova senha"
        labels = [str(field.label) for field in SetPasswordForm(user=None).fields.values()]
        help_text = translation.ngettext(
            "Your password must contain at least %(min_length)d character.",
            "Your password must contain at least %(min_length)d characters.",
            10,
        ) % {"min_length": 10}
    assert not any("palavra-passe" in text for text in [*labels, help_text])
    assert "senha" in help_text
    with translation.override("es"):
        assert translation.gettext("New password") == "Contraseña nueva"  # untouched


def test_brazilian_dates_write_months_and_weekdays_in_lower_case() -> None:
    """ "6 de dezembro de 2026", "segunda-feira": Django's pt_BR capitalises them (compile_catalogues
    writes them as Brazil does); the other languages are untouched."""
    import datetime

    from django.utils import formats

    day = datetime.datetime(2026, 12, 7, 9, 30)
    with translation.override("pt"):
        assert formats.date_format(day, "DATE_FORMAT") == "7 de dezembro de 2026"
        assert formats.date_format(day, "l") == "segunda-feira"
    with translation.override("fr"):
        assert formats.date_format(day, "DATE_FORMAT") == "7 décembre 2026"
    with translation.override("en"):
        assert formats.date_format(day, "l, F") == "Monday, December"
