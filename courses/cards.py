"""My learning's list of enrolments, built in Python rather than by the template engine.

The markup is the template's (a card per enrolment: title, status, mode, which run (its host
and dates), progress bar with its values and label, progress and attendance, resume and
withdraw actions); course titles and hosts are escaped with html.escape (as
django.utils.html.escape does), labels translated and escaped once per language.
"""

from __future__ import annotations

import uuid
from functools import lru_cache
from typing import Any

from django.urls import get_script_prefix, reverse
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from courses.content import escape_text as _escape
from courses.models import CourseRun, Enrollment
from courses.selectors import LearningRow
from lms.chrome import csrf_token
from lms.i18n import pick

READABLE = (Enrollment.Status.ACTIVE, Enrollment.Status.COMPLETED)
WITHDRAWABLE = (Enrollment.Status.ACTIVE, Enrollment.Status.WAITLISTED, Enrollment.Status.PENDING)


_SAMPLE = uuid.UUID(int=0)


@lru_cache(maxsize=32)
def _fixed(language: str, script_prefix: str) -> dict[str, Any]:
    """Labels and addresses that depend only on the reader's language, translated and escaped
    once ("done" and "attendance": templates for the % operator, escaped before the numbers go
    in)."""
    return {
        "statuses": {value: _escape(str(label)) for value, label in Enrollment.Status.choices},
        "modes": {value: _escape(str(label)) for value, label in CourseRun.Mode.choices},
        "progress": _escape(_("Progress")),
        "continue": _escape(_("Continue")),
        "start": _escape(_("Start")),
        "review": _escape(_("Review the course")),
        "withdraw": _escape(_("Withdraw")),
        "done": _escape(_("%(pct)s%% done")),
        "attendance": _escape(_("attendance %(pct)s%%")),
        # Addresses of an enrolment differ only in its registration: reversed once here.
        "resume_url": reverse("courses:resume", args=[_SAMPLE]),
        "withdraw_url": reverse("courses:withdraw", args=[_SAMPLE]),
        "empty": format_html(
            '<p>{} <a href="{}">{}</a></p>',
            _("You are not enrolled in any course yet."),
            reverse("courses:catalogue"),
            _("Browse the catalogue"),
        ),
    }


def _day(day: Any) -> str:
    """A date in the active language, short and kept on one line ("6\u00a0Dic\u00a02026")."""
    return _escape(date_format(day, "j M Y")).replace(" ", "\u00a0")


@lru_cache(maxsize=4096)
def _which_run(language: str, host: str, starts_on: Any, ends_on: Any) -> str:
    """The line that tells a card's run from another of the same course: its host and its
    dates as the reader's language writes them short ("6 Dic 2026"), escaped; kept per
    language and run (a run's learners all read the same line)."""
    parts = [_escape(host)] if host else []
    if starts_on and ends_on and ends_on != starts_on:
        parts.append(f"{_day(starts_on)} – {_day(ends_on)}")
    elif starts_on:
        parts.append(_day(starts_on))
    return f'  <p class="run-meta">{" · ".join(parts)}</p>\n' if parts else ""


def cards(request: Any, rows: list[LearningRow]) -> SafeString:
    """The <ul class="cards"> of My learning for these enrolments."""
    active = get_language() or ""
    fixed = _fixed(active, get_script_prefix())
    if not rows:
        # A sentence across the page, not a card of the grid (a narrow column there).
        return mark_safe(fixed["empty"])  # noqa: S308 - escaped
    token = ""
    html = ['<ul class="cards">']
    for row in rows:
        pct = int(row.progress_pct)
        title = _escape(str(pick(row.course_title, active, row.language)))
        status = fixed["statuses"].get(row.status) or _escape(row.status)
        mode = fixed["modes"].get(row.mode) or _escape(row.mode)
        done: str = fixed["done"] % {"pct": pct}
        if row.attendance_pct is not None:
            attendance = fixed["attendance"] % {"pct": row.attendance_pct}
            done = f"{done} · {attendance}"
        html.append(
            f'<li class="card">\n  <h2>{title}</h2>\n'
            f'  <p><span class="badge">{status}</span> {mode}</p>\n'
            f"{_which_run(active, row.host, row.starts_on, row.ends_on)}"
            '  <div class="progress" role="progressbar" aria-valuemin="0" aria-valuemax="100" '
            f'aria-valuenow="{pct}" aria-label="{fixed["progress"]}">'
            f'<span style="width:{pct}%"></span></div>\n  <p>{done}</p>\n  '
        )
        if row.status in READABLE:
            if row.status == Enrollment.Status.COMPLETED:
                label = fixed["review"]
            else:
                label = fixed["continue"] if row.last_lesson_id else fixed["start"]
            url = _escape(fixed["resume_url"].replace(str(_SAMPLE), str(row.registration)))
            html.append(f'<p><a class="button primary" href="{url}">{label}</a></p>')
        html.append("\n  ")
        if row.status in WITHDRAWABLE:
            token = token or _escape(csrf_token(request))
            url = _escape(fixed["withdraw_url"].replace(str(_SAMPLE), str(row.registration)))
            html.append(
                f'<form method="post" action="{url}">'
                f'<input type="hidden" name="csrfmiddlewaretoken" value="{token}">'
                f'<button type="submit" class="link-button">{fixed["withdraw"]}</button></form>'
            )
        html.append("\n</li>")
    html.append("</ul>")
    return mark_safe("".join(html))  # noqa: S308 - every part escaped
