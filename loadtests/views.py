"""The views the load test compares the LMS's pages against (served by loadtests.minimal).

- `ping`: the ceiling, the least a Django request can do under the LMS's settings and
  middleware (route, run the middleware, answer JSON). Asked with a learner's cookies it is also
  the floor of any signed-in request: the middleware then reads the session and the person.
- `own_row`: the floor of any page about the signed-in learner's own data: the same, plus one
  prepared read of one of their rows by an index (their first enrolment), as every such page
  makes at least one (a lesson reads the learner's enrolment and progress; My learning their
  enrolments). What a page keeps of the ceiling cannot be more than what this keeps.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from lms.db import bound_cursor

_OWN_ROW_SQL = (
    "SELECT id, progress_pct FROM courses_enrollment WHERE user_id = %s ORDER BY id LIMIT 1"
)


def ping(request: HttpRequest) -> JsonResponse:
    """The least a Django request can do: route, run the middleware, return JSON."""
    return JsonResponse({"ok": True})


def own_row(request: HttpRequest) -> JsonResponse:
    """The signed-in learner's first enrolment, read as the hot pages read theirs (one prepared
    query on PostgreSQL); 403 for a visitor not signed in."""
    user = request.user
    if not user.is_authenticated:
        return JsonResponse({"ok": False}, status=403)
    with bound_cursor(prepare=True) as cursor:
        cursor.execute(_OWN_ROW_SQL, [user.pk])
        row = cursor.fetchone()
    return JsonResponse(
        {"ok": True, "enrollment": row[0] if row else None, "progress": row[1] if row else None}
    )
