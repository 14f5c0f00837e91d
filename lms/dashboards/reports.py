"""The monthly report for DPS: the month's figures by member state, as a PDF and a CSV."""

from __future__ import annotations

import io
from datetime import date, timedelta

from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from lms import csv_safety
from lms.accounts.models import Role, User
from lms.dashboards import charts
from lms.dashboards.exports import breakdown_table
from lms.dashboards.models import MonthlyReport
from lms.dashboards.selectors import Filters, Lens, breakdown, figures, member_state_rows


def previous_month(today: date | None = None) -> date:
    """The first day of the month before `today`."""
    today = today or timezone.now().date()
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


def _month_end(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def generate_monthly_report(*, month: date, language: str = "en") -> MonthlyReport:
    """Render (or render again) the report of `month` as PDF and CSV and store it."""
    from weasyprint import HTML

    month = month.replace(day=1)
    lens = Lens(is_dps=True)
    filters = Filters(since=month, until=month)
    with translation.override(language):
        totals = figures(lens, filters, today=_month_end(month))
        rows = [
            row
            for row in member_state_rows(lens, filters)
            if row.figures.enrolled or row.figures.completed or row.figures.certificates
        ]
        headers, table = breakdown_table(_("Member state"), rows)
        programs = breakdown(lens, filters, "program")
        chart = charts.bar_chart(
            title=_("Enrolments and completions by member state"),
            labels=[row.label for row in rows],
            values=[row.figures.enrolled for row in rows],
            second=[row.figures.completed for row in rows],
            legend=(_("Enrolments"), _("Completions")),
            limit=34,
        )
        html = render_to_string(
            "dashboards/report_pdf.html",
            {
                "month": month,
                "figures": totals,
                "headers": headers,
                "table": table,
                "programs": programs,
                "chart": chart,
                "generated_at": timezone.now(),
            },
        )
        pdf = HTML(string=html, base_url=None).write_pdf()
        buffer = io.StringIO()
        writer = csv_safety.writer(buffer)  # no cell a spreadsheet would run as a formula
        writer.writerow(headers)
        writer.writerows(table)
    name = f"dps-report-{month:%Y-%m}"
    with transaction.atomic():
        report, _created = MonthlyReport.objects.select_for_update().get_or_create(
            month=month, defaults={"pdf": "", "csv": ""}
        )
        report.pdf.save(f"{name}.pdf", ContentFile(pdf), save=False)
        report.csv.save(
            f"{name}.csv", ContentFile(("\ufeff" + buffer.getvalue()).encode()), save=False
        )
        report.save()
    return report


def email_monthly_report(*, report: MonthlyReport) -> int:
    """Email the report to every DPS administrator; returns how many were sent."""
    recipients = list(
        User.objects.filter(roles__role=Role.DPS_ADMIN, status=User.Status.ACTIVE)
        .exclude(email="")
        .distinct()
        .values_list("email", "preferred_language")
    )
    sent = 0
    for email, language in recipients:
        with translation.override(language or "en"):
            message = EmailMessage(
                subject=_("Monthly training report: %(month)s")
                % {"month": report.month.strftime("%Y-%m")},
                body=_(
                    "The training network's report for %(month)s is attached as a PDF and a CSV. "
                    "It is also on the dashboards' reports page."
                )
                % {"month": report.month.strftime("%Y-%m")},
                to=[email],
            )
        report.pdf.open("rb")
        message.attach(report.pdf.name.rsplit("/", 1)[-1], report.pdf.read(), "application/pdf")
        report.pdf.close()
        report.csv.open("rb")
        message.attach(report.csv.name.rsplit("/", 1)[-1], report.csv.read(), "text/csv")
        report.csv.close()
        sent += message.send()
    return sent
