"""Live updates: events pushed to the dashboards' WebSocket groups through the channel layer.

Each open dashboard joins the groups of its scope (everything for DPS, an institution, a run, a
course); an event goes to every group it belongs to, and the page adds it to its counters.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

ALL_GROUP = "dashboards.all"


def institution_group(institution_id: int) -> str:
    return f"dashboards.institution.{institution_id}"


def run_group(run_id: int) -> str:
    return f"dashboards.run.{run_id}"


def course_group(course_id: int) -> str:
    return f"dashboards.course.{course_id}"


def groups_for(*, institution_path: str, run_id: int | None, course_id: int | None) -> list[str]:
    """Groups that should hear of an event about a learner of the institution at
    `institution_path` (and every institution above it) in a run of a course."""
    groups = [ALL_GROUP]
    groups += [
        institution_group(int(part)) for part in institution_path.split("/") if part.isdigit()
    ]
    if run_id:
        groups.append(run_group(run_id))
    if course_id:
        groups.append(course_group(course_id))
    return groups


def publish(groups: list[str], payload: dict[str, Any]) -> None:
    """Send `payload` to each group; a broken channel layer must not break the event."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        for group in groups:
            async_to_sync(layer.group_send)(group, {"type": "dashboard.event", "payload": payload})
    except Exception:  # the counters are already stored; only the live push is lost
        logger.exception("dashboards: live update not sent")
