"""Celery tasks of the dashboards app (the monthly report is scheduled in apps.py)."""

from __future__ import annotations

from datetime import date

from celery import shared_task

from lms.dashboards import reports


@shared_task(name="lms.dashboards.tasks.send_monthly_report")
def send_monthly_report(month: str | None = None) -> str:
    """Generate last month's report (or `month`, "YYYY-MM") and email it to DPS."""
    first = date.fromisoformat(f"{month}-01") if month else reports.previous_month()
    report = reports.generate_monthly_report(month=first)
    reports.email_monthly_report(report=report)
    return report.month.isoformat()
