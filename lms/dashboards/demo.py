"""Demo data of the dashboards: the aggregates recomputed from what the other apps seeded (some
of it made directly, without the events the receivers count). Idempotent."""

from __future__ import annotations

from typing import Any

from lms.dashboards import services


def seed(context: dict[str, Any]) -> None:
    """Rebuild the aggregates so that the demo dashboards show the demo enrolments."""
    context["dashboard_cells"] = services.rebuild()
