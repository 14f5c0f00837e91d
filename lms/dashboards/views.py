"""Pages of the dashboards app: thin views over selectors; every page also exports CSV and XLSX."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from courses.models import CourseRun, Enrollment
from lms.accounts.models import Institution, MemberState
from lms.dashboards import charts, exports, selectors
from lms.dashboards.models import MonthlyReport
from lms.dashboards.selectors import DIMENSIONS, Filters, Lens
from lms.i18n import pick
from lms.ids import as_id

EXPORT_FORMATS = ("csv", "xlsx")
BREAKDOWN_PAGE = 50


class BadFilter(ValueError):
    """A filter in the query string that cannot be read; the message names the field."""


# The largest id a database key holds: a longer number names nothing.
MAX_ID = 2**63 - 1


def _int(request: HttpRequest, name: str, label: str) -> int | None:
    raw = request.GET.get(name, "").strip()
    if not raw:
        return None
    value = as_id(raw)
    if value is None or value > MAX_ID:
        raise BadFilter(_("%(field)s: choose a value from the list.") % {"field": label})
    return value


def _month(request: HttpRequest, name: str, label: str) -> date | None:
    raw = request.GET.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(f"{raw}-01")
    except ValueError:
        raise BadFilter(_("%(field)s: write the month as YYYY-MM.") % {"field": label}) from None


def parse_filters(request: HttpRequest) -> Filters:
    """The filters of the query string; BadFilter names the field that is wrong."""
    mode = request.GET.get("mode", "")
    if mode and mode not in CourseRun.Mode.values:
        raise BadFilter(
            _("%(field)s: choose a value from the list.") % {"field": _("Delivery mode")}
        )
    language = request.GET.get("language", "")
    if language and language not in ("es", "en", "pt", "fr"):
        raise BadFilter(_("%(field)s: choose a value from the list.") % {"field": _("Language")})
    since = _month(request, "since", _("From"))
    until = _month(request, "until", _("Until"))
    if since and until and until < since:
        raise BadFilter(
            _("%(field)s: choose a month after “%(since)s”.")
            % {"field": _("Until"), "since": since.strftime("%Y-%m")}
        )
    labels = {
        "member_state": _("Member state"),
        "institution": _("Institution"),
        "program": _("Program"),
        "course": _("Course"),
        "run": _("Course run"),
    }
    filters = Filters(
        **{name: _int(request, name, label) for name, label in labels.items()},
        mode=mode,
        language=language,
        since=since,
        until=until,
    )
    unknown = selectors.unknown_filters(filters)
    if unknown:
        raise BadFilter(
            _("%(field)s: choose a value from the list.") % {"field": labels[unknown[0]]}
        )
    return filters


def _bad(request: HttpRequest, error: BadFilter) -> HttpResponse:
    """400, on a page of the site saying which filter is wrong, with the way back."""
    return render(request, "dashboards/bad_filter.html", {"message": str(error)}, status=400)


def _crumbs(filters: Filters) -> list[tuple[str, str]]:
    """The drill-down path: hemisphere, then country, institution and run when chosen."""
    crumbs = [(str(_("Hemisphere")), "?")]
    query: dict[str, str] = {}
    if filters.member_state:
        state = MemberState.objects.filter(pk=filters.member_state).first()
        query["member_state"] = str(filters.member_state)
        crumbs.append((state.name if state else "?", "?" + urlencode(query)))
    if filters.institution:
        name = (
            Institution.objects.filter(pk=filters.institution)
            .values_list("name", flat=True)
            .first()
        )
        query["institution"] = str(filters.institution)
        crumbs.append((name or "?", "?" + urlencode(query)))
    return crumbs


@login_required
def home(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """The dashboard of the viewer's lens: figures, charts, breakdown, map, recent completions."""
    lens = selectors.lens_for(request.user)
    try:
        filters = parse_filters(request)
        # a donor's drill-down keeps to the programs they fund, as the breakdown does
        listed = lens.listed_program_ids
        if listed is not None and filters.program and filters.program not in listed:
            raise BadFilter(_("%(field)s: choose a value from the list.") % {"field": _("Program")})
    except BadFilter as error:
        return _bad(request, error)
    by = request.GET.get("by") or selectors.next_breakdown(filters)
    if by not in DIMENSIONS:
        return _bad(
            request,
            BadFilter(
                _("%(field)s: choose a value from the list.") % {"field": _("Break down by")}
            ),
        )
    totals, rows, trend, states = _aggregates(lens, filters, by)
    dimension_label = str(DIMENSIONS[by][1])
    export = request.GET.get("format")
    if export in EXPORT_FORMATS:
        return _export_overview(export, lens, totals, dimension_label, rows, trend, states)
    base_query = filters.as_query()
    # The table shows a page of the breakdown (1,800 runs would make a heavy page); the chart
    # shows the largest, the exports every row.
    page = Paginator(rows, BREAKDOWN_PAGE).get_page(request.GET.get("page"))
    for row in page.object_list:
        row.url = "?" + urlencode({**base_query, **row.link}) if row.link else ""
        if by == "run" and row.key:
            row.url = f"runs/{row.key}/"
    context: dict[str, Any] = {
        "lens": lens,
        "filters": filters,
        "by": by,
        "dimensions": [(key, label) for key, (_column, label) in DIMENSIONS.items()],
        "dimension_label": dimension_label,
        "figures": totals,
        "rows": page.object_list,
        "page_obj": page,
        "all_rows": rows,
        "trend": trend,
        "states": states,
        "crumbs": _crumbs(filters),
        "recent": selectors.recent_completions(lens, filters),
        "named": lens.named,
        "live": not base_query,
        "query": urlencode({**base_query, "by": by}),
        "modes": CourseRun.Mode.choices,
        "breakdown_chart": charts.bar_chart(
            title=_("Enrolments and completions by %(dimension)s")
            % {"dimension": dimension_label.lower()},
            labels=[row.label for row in rows],
            values=[row.figures.enrolled for row in rows],
            second=[row.figures.completed for row in rows],
            legend=(_("Enrolments"), _("Completions")),
        ),
        "trend_chart": charts.trend_chart(
            title=_("Enrolments, completions and certificates by month"),
            labels=[row.label for row in trend],
            series=[
                (_("Enrolments"), [row.figures.enrolled for row in trend], charts.BAR),
                (_("Completions"), [row.figures.completed for row in trend], charts.SECOND),
                (_("Certificates"), [row.figures.certificates for row in trend], "#2e7d32"),
            ],
        ),
        "map": charts.tile_map(
            title=_("Completions by member state"),
            tiles=[
                (
                    row.code,
                    str(row.label),
                    row.figures.completed,
                    row.figures.completion_rate,
                    "?" + urlencode({**base_query, "member_state": str(row.key)}),
                )
                for row in states
            ],
        ),
    }
    return render(request, "dashboards/home.html", context)


def _aggregates(
    lens: Lens, filters: Filters, by: str
) -> tuple[selectors.Figures, list[selectors.Row], list[selectors.Row], list[selectors.Row]]:
    """The figures of a view, kept for a short while: the same view opened by many people (or
    reloaded) is computed once; what changes in between arrives through the WebSocket. Kept as
    plain tuples (selectors.pack); "v2" in the key: entries of the earlier format are ignored."""
    key = (
        "dashboards:v2:"
        + hashlib.sha256(repr((lens, filters, by, get_language())).encode()).hexdigest()
    )
    cached = cache.get(key)
    if cached is not None:
        totals, rows, trend, states = cached
        return (
            selectors.Figures(*totals),
            selectors.unpack(rows),
            selectors.unpack(trend),
            selectors.unpack(states),
        )
    figures = selectors.figures(lens, filters)
    breakdown = selectors.breakdown(lens, filters, by)
    trend_rows = breakdown if by == "month" else selectors.breakdown(lens, filters, "month")
    state_rows = selectors.member_state_rows(
        lens, filters, breakdown if by == "member_state" else None
    )
    cache.set(
        key,
        (
            selectors.pack_figures(figures),
            selectors.pack(breakdown),
            selectors.pack(trend_rows),
            selectors.pack(state_rows),
        ),
        getattr(settings, "DASHBOARDS_CACHE_SECONDS", 30),
    )
    return figures, breakdown, trend_rows, state_rows


def _export_overview(
    export: str,
    lens: Lens,
    totals: selectors.Figures,
    dimension_label: str,
    rows: list[selectors.Row],
    trend: list[selectors.Row],
    states: list[selectors.Row],
) -> HttpResponse | StreamingHttpResponse:
    headers, table = exports.breakdown_table(dimension_label, rows)
    summary_headers = [
        _("Active learners (7 days)"),
        _("Active learners (30 days)"),
        *exports.figure_headers(),
    ]
    summary = [[totals.active_7, totals.active_30, *exports.figure_cells(totals)]]
    if export == "csv":
        return exports.csv_response("dashboard", headers, table)
    trend_headers, trend_rows = exports.breakdown_table(_("Month"), trend)
    state_headers, state_rows = exports.breakdown_table(_("Member state"), states)
    return exports.xlsx_response(
        "dashboard",
        [
            (_("Summary"), summary_headers, summary),
            (dimension_label, headers, table),
            (_("Trend"), trend_headers, trend_rows),
            (_("Member states"), state_headers, state_rows),
        ],
    )


@login_required
def run_detail(request: HttpRequest, run_id: int) -> HttpResponse | StreamingHttpResponse:
    """One course run: its figures and its learners (only those the viewer may see)."""
    lens = selectors.lens_for(request.user)
    run = get_object_or_404(
        CourseRun.objects.select_related("course", "host_institution"), pk=run_id
    )
    if not selectors.run_visible(lens, run):
        raise PermissionDenied(_("This course run is outside your dashboards."))
    filters = Filters(run=run.pk)
    learners = selectors.run_learners(lens, run)
    export = request.GET.get("format")
    headers = [
        _("Officer"),
        _("Badge number"),
        _("Institution"),
        _("Member state"),
        _("Status"),
        _("Progress (%)"),
        _("Attendance (%)"),
        _("Score (%)"),
        _("Completed at"),
    ]

    def table() -> Any:
        for enrolment in learners.iterator(chunk_size=2000):
            yield _learner_cells(enrolment)

    if export == "csv":
        return exports.csv_response(f"run-{run.code}", headers, table())
    if export == "xlsx":
        return exports.xlsx_response(f"run-{run.code}", [(run.code, headers, table())])
    page = Paginator(learners, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "dashboards/run.html",
        {
            "run": run,
            "course_title": pick(run.course.title),
            "figures": selectors.figures(lens, filters),
            "page_obj": page,
            "named": lens.named,
            "crumbs": _crumbs(
                Filters(
                    # a run recorded without its country is in its host institution's
                    member_state=run.member_state_id
                    or (run.host_institution.member_state_id if run.host_institution else None),
                    institution=run.host_institution_id,
                )
            ),
        },
    )


def _learner_cells(enrolment: Enrollment) -> list[Any]:
    return [
        enrolment.user.full_name,
        enrolment.user.badge_number,
        enrolment.institution.name if enrolment.institution else "",
        enrolment.member_state.name if enrolment.member_state else "",
        enrolment.get_status_display(),
        enrolment.progress_pct,
        "" if enrolment.attendance_pct is None else enrolment.attendance_pct,
        "" if enrolment.score_pct is None else float(enrolment.score_pct),
        enrolment.completed_at.strftime("%Y-%m-%d %H:%M") if enrolment.completed_at else "",
    ]


@login_required
def officer_detail(request: HttpRequest, user_id: int) -> HttpResponse | StreamingHttpResponse:
    """One officer's record: the enrolments and certificates the viewer may see.

    An officer out of the viewer's reach is answered like an id that names no one (404), so the
    page does not tell which ids are people."""
    lens = selectors.lens_for(request.user)
    officer = (
        get_user_model()
        .objects.select_related("institution", "member_state")
        .filter(pk=user_id)
        .first()
    )
    record = selectors.officer_record(lens, officer) if officer is not None else []
    if officer is None or (not record and not lens.is_dps):
        raise Http404
    certificates = selectors.officer_certificates(officer, record)
    headers = [
        _("Course"),
        _("Course run"),
        _("Status"),
        _("Enrolled at"),
        _("Progress (%)"),
        _("Attendance (%)"),
        _("Score (%)"),
        _("Passed"),
        _("Completed at"),
    ]
    export = request.GET.get("format")
    if export in ("csv", "xlsx"):
        table = _officer_table(record, lambda moment: moment.strftime("%Y-%m-%d"))
        if export == "csv":
            return exports.csv_response(f"officer-{officer.pk}", headers, table)
        return exports.xlsx_response(f"officer-{officer.pk}", [(str(officer.pk), headers, table)])
    # on the page, dates as the reader's language writes them ("6 décembre 2026")
    table = _officer_table(
        record, lambda moment: date_format(timezone.localtime(moment), "DATE_FORMAT")
    )
    return render(
        request,
        "dashboards/officer.html",
        {"officer": officer, "headers": headers, "table": table, "certificates": certificates},
    )


def _officer_table(record: list[Enrollment], day: Callable[[datetime], str]) -> list[list[Any]]:
    """The rows of an officer's record, each date written by `day` (ISO in the exports)."""
    return [
        [
            str(pick(e.run.course.title)),
            e.run.code,
            e.get_status_display(),
            day(e.enrolled_at),
            e.progress_pct,
            "" if e.attendance_pct is None else e.attendance_pct,
            "" if e.score_pct is None else float(e.score_pct),
            "" if e.passed is None else (_("Yes") if e.passed else _("No")),
            day(e.completed_at) if e.completed_at else "",
        ]
        for e in record
    ]


def _require_dps(request: HttpRequest) -> None:
    if not selectors.lens_for(request.user).is_dps:
        raise PermissionDenied(_("Only DPS may read the monthly reports."))


@login_required
def reports(request: HttpRequest) -> HttpResponse:
    """The monthly reports, newest first (DPS only)."""
    _require_dps(request)
    page = Paginator(MonthlyReport.objects.all(), 24).get_page(request.GET.get("page"))
    return render(request, "dashboards/reports.html", {"page_obj": page})


@login_required
def report_file(request: HttpRequest, report_id: int, kind: str) -> FileResponse:
    """Download one monthly report as PDF or CSV (DPS only)."""
    _require_dps(request)
    report = get_object_or_404(MonthlyReport, pk=report_id)
    stored = report.pdf if kind == "pdf" else report.csv if kind == "csv" else None
    if not stored:
        raise Http404
    return FileResponse(
        stored.open("rb"), as_attachment=True, filename=f"dps-report-{report.month:%Y-%m}.{kind}"
    )
