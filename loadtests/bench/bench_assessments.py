"""Benchmark of an exam-window burst: officers starting, autosaving and submitting the same exam.

Seeds its own exam (a bank of 300 questions in 3 categories, 20 drawn per attempt, options
shuffled) and enrols `learners` officers, then drives the real pages through Django's test
client (in-process: the server's own time, no network or HTTP server) from 2 threads, each
officer doing start → 2 autosaves → submit. Reports operations per second and p50/p95 latency of
each step, and the queries per step (which do not depend on the bank's size: the draw reads the
sections' cached pools, never the bank).
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.test import Client

from loadtests.bench.harness import counted_queries, new_client

BANK = 300
DRAWN = 20
THREADS = 2


def _seed(learners: int) -> tuple[int, list[int]]:
    """The bench exam and `learners` active enrolments; returns (assessment id, user ids)."""
    from assessments.models import AssessmentSection, Question, QuestionCategory
    from courses.models import Enrollment
    from lms.accounts.models import User
    from loadtests.skeleton import assessment_run

    run, assessment, made = assessment_run(
        course_code="bench-exam-course", run_code="bench-exam-run",
        title={"es": "Examen nacional", "en": "National exam"},
        lesson_title={"es": "Examen", "en": "Exam"}, kind="exam", time_limit_minutes=60,
        published=True,
    )  # fmt: skip
    if made:
        course = run.course
        for c in range(3):
            category = QuestionCategory.objects.create(course=course, slug=f"part-{c}")
            Question.objects.bulk_create(
                Question(
                    course=course, category=category, kind="single" if i % 2 else "multiple",
                    text={"es": f"Pregunta {c}-{i}", "en": f"Question {c}-{i}"},
                    data={"options": [{"id": o, "text": {"en": o}} for o in "abcd"]},
                    key={"correct": "b"} if i % 2 else {"correct": ["a", "c"]},
                    points=Decimal(1),
                )
                for i in range(BANK // 3)
            )  # fmt: skip
            AssessmentSection.objects.create(
                assessment=assessment, category=category, position=c, count=DRAWN // 3 + (c == 0) * (DRAWN % 3)
            )  # fmt: skip
    bench_users = User.objects.filter(email__startswith="exam", email__endswith="@bench.lms")
    bench_users.exclude(status="active").update(status="active")
    # Officers who have not taken the exam yet; a run after another makes new ones, so that
    # every run measures `learners` whole attempts.
    fresh = Enrollment.objects.filter(run=run).exclude(attempts__assessment=assessment)
    have, ready = bench_users.count(), fresh.count()
    with transaction.atomic():
        users = User.objects.bulk_create(
            User(
                email=f"exam{i}@bench.lms",
                full_name=f"Exam Officer {i}",
                password="!",
                status="active",
            )
            for i in range(have, have + max(0, learners - ready))
        )
        Enrollment.objects.bulk_create(
            Enrollment(user=u, run=run, version=run.version, status="active") for u in users
        )
    ids = list(fresh.values_list("user_id", flat=True)[:learners])
    return assessment.pk, ids


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else 0.0


def run(options: dict[str, Any]) -> str:
    """Seed, run the burst, return the Markdown section."""
    from assessments.models import Attempt
    from lms.accounts.models import User

    out = options["stdout"]
    scale = float(options.get("scale", 1.0))
    learners = max(100, int(2000 * scale))
    if not settings.IS_POSTGRES:
        return "## Assessments\n\nNot measured: the benchmark needs PostgreSQL (DATABASE_URL).\n"
    assessment_id, user_ids = _seed(learners)
    out.write(f"assessments: {len(user_ids)} officers ready to start the exam")
    users = list(User.objects.filter(pk__in=user_ids))
    clients = []
    for user in users:
        client = new_client()
        client.force_login(user)
        clients.append(client)
    timings: dict[str, list[float]] = {"start": [], "autosave": [], "submit": []}
    queries: dict[str, int] = {"start": 0, "autosave": 0, "submit": 0}
    errors: list[str] = []
    lock = threading.Lock()
    start_url = f"/assessments/{assessment_id}/start/"

    def officer(client: Client) -> None:
        def step(name: str, url: str, data: dict[str, Any], **extra: Any) -> Any:
            with counted_queries() as captured:
                began = time.perf_counter()
                response = client.post(url, data, **extra)
                elapsed = (time.perf_counter() - began) * 1000
            if response.status_code not in (200, 302):
                errors.append(f"{name} {response.status_code}")
            with lock:
                timings[name].append(elapsed)
                queries[name] = max(queries[name], len(captured))
            return response

        response = step("start", start_url, {})
        attempt_id = int(response["Location"].rstrip("/").split("/")[-1])
        draw = Attempt.objects.values_list("draw", flat=True).get(pk=attempt_id)
        half = len(draw) // 2
        first = {f"q-{e['question']}": e["options"][1] for e in draw[:half]}
        rest = {f"q-{e['question']}": e["options"][0] for e in draw[half:]}
        save_url = f"/assessments/attempts/{attempt_id}/save/"
        step("autosave", save_url, first, HTTP_ACCEPT="application/json")
        step("autosave", save_url, {**first, **rest}, HTTP_ACCEPT="application/json")
        step("submit", f"/assessments/attempts/{attempt_id}/submit/", {**first, **rest})

    def worker(mine: list[Client]) -> None:
        try:
            for client in mine:
                officer(client)
        except Exception as error:  # noqa: BLE001 - reported in the section
            errors.append(repr(error))
        finally:
            connection.close()

    load_before = os.getloadavg()[0]
    began = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(clients[i::THREADS],)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    load_after = os.getloadavg()[0]
    lines = [
        "## Assessments: exam-window burst",
        "",
        f"Measured by `manage.py run_benchmarks --only assessments --scale {scale:g}`: "
        f"{len(clients)} officers (scale {scale:g} of 2,000), each start → 2 autosaves → "
        f"submit of an exam drawing {DRAWN} questions from a bank of {BANK} in 3 categories, "
        f"through Django's test client in-process from {THREADS} threads on this 2-core "
        "machine (PostgreSQL; the server's own time, no HTTP server or network; load average "
        f"{load_before:.1f} before, {load_after:.1f} after, whatever else ran counts in it). "
        "Submitting grades the attempt, stores the xAPI "
        f"statements (answered × {DRAWN}, scored, passed/failed) and updates the course progress.",
        "",
        "| Step | Count | Per second (whole burst) | p50 ms | p95 ms | Queries |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name in ("start", "autosave", "submit"):
        values = timings[name]
        lines.append(
            f"| {name} | {len(values)} | {len(values) / wall:.1f} | "
            f"{statistics.median(values) if values else 0:.1f} | {_pct(values, 0.95):.1f} | "
            f"{queries[name]} |"
        )
    lines += [
        "",
        f"Whole burst: {len(clients)} attempts started and submitted in {wall:.1f} s "
        f"({len(clients) / wall:.1f} complete attempts per second). "
        f"Errors: {len(errors)}{' (' + '; '.join(sorted(set(errors))[:3]) + ')' if errors else ''}.",
        "",
        "Starting reads the sections' cached pools (one row per category), never the bank; "
        "the query counts above do not change with the bank's size. The start is each "
        "officer's first request: 3 of its queries load the signed-in person (the user, their "
        "roles, the unread count), which the session's cache holds afterwards. The submit "
        "stores its statements in two round trips (the answers, then the result).",
    ]
    return "\n".join(lines) + "\n"
