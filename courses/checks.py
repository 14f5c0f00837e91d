"""System checks of the courses app's settings (`manage.py check`, which `migrate` runs, so the
migration Job of every upgrade and `make run`): a deployment learns of a bad value when it
upgrades, not from a coordinator's click."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

# Officers one request may enrol at once before the click is better a background job: about
# 2.5 s here (docs/PERFORMANCE.md, "Bulk work": 1,500 in 0.7 s; 20,000 took 8.7 s), within a
# reverse proxy's usual timeout with room for a slower database.
LONGEST_AT_ONCE = 5000


@checks.register("lms")
def check_enrolment_threshold(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """LMS_ENROL_IN_BACKGROUND_FROM must be a whole number from 1; far above LONGEST_AT_ONCE a
    coordinator's click becomes one long request again."""
    value = settings.LMS_ENROL_IN_BACKGROUND_FROM
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        return [
            checks.Error(
                f"LMS_ENROL_IN_BACKGROUND_FROM is {value!r}; it must be a whole number of "
                "officers, 1 or more.",
                hint="Unset it for the default (2000).",
                id="courses.E001",
            )
        ]
    if value > LONGEST_AT_ONCE:
        return [
            checks.Warning(
                f"LMS_ENROL_IN_BACKGROUND_FROM is {value}: a coordinator's click may enrol up to "
                f"{value - 1} officers in one request (about 0.5 ms an officer on a 2-core "
                "machine), past what a reverse proxy usually waits for.",
                hint=f"Keep it at {LONGEST_AT_ONCE} or less; larger enrolments run as a "
                "background job with a progress page.",
                id="courses.W001",
            )
        ]
    return []
