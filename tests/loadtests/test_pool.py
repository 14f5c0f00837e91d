"""The load test's pool (loadtests.run.prepare_pool) keeps finding learners with lessons left to
open however many runs opened lessons before: fewest opened first, none without a lesson left."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from courses.models import Enrollment, Lesson, LessonProgress
from tests.courses.factories import RunFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _enrolled(email: str, run: Any, opened: int) -> tuple[Enrollment, list[int]]:
    enrollment = Enrollment.objects.create(
        user=UserFactory(email=email), run=run, version=run.version
    )
    ids = list(
        Lesson.objects.filter(version=run.version).order_by("position").values_list("pk", flat=True)
    )
    for lesson_id in ids[:opened]:
        LessonProgress.objects.create(enrollment=enrollment, lesson_id=lesson_id, status="started")
    return enrollment, ids


def test_learners_who_opened_lessons_are_taken_while_a_lesson_is_left(
    require_postgres: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from loadtests.run import prepare_pool

    monkeypatch.setattr(os, "environ", dict(os.environ))  # prepare_pool fills in its defaults
    run = RunFactory()
    _two, ids = _enrolled("officer-two@example.org", run, opened=2)
    _enrolled("officer-all@example.org", run, opened=3)  # nothing left to open
    three_run = RunFactory()
    _one, one_ids = _enrolled("officer-one@example.org", three_run, opened=1)
    pool = prepare_pool(tmp_path / "pool.json", 5)
    learners = {lr["email"]: lr for lr in pool["learners"]}
    assert set(learners) == {"officer-two@example.org", "officer-one@example.org"}
    assert learners["officer-two@example.org"]["lessons"] == [ids[2]]
    assert learners["officer-one@example.org"]["lessons"] == one_ids[1:]
    # the fewest opened first
    assert [lr["email"] for lr in pool["learners"]][0] == "officer-one@example.org"
    assert json.loads((tmp_path / "pool.json").read_text())["learners"] == pool["learners"]


def test_learners_carry_the_video_lesson_whose_position_the_player_saves(
    require_postgres: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mixed load's video player saves positions for the first video of each learner's
    version; a version without a video gives none (the task then sends nothing)."""
    from loadtests.run import prepare_pool

    monkeypatch.setattr(os, "environ", dict(os.environ))
    with_video = RunFactory()
    first = Lesson.objects.filter(version=with_video.version).order_by("position").first()
    assert first is not None
    video = Lesson.objects.create(
        version=with_video.version, module=first.module, position=9, kind=Lesson.Kind.VIDEO,
        title={"en": "Video"}, video_url="https://video.example.org/a.mp4",
    )  # fmt: skip
    _enrolled("officer-video@example.org", with_video, opened=0)
    _enrolled("officer-text@example.org", RunFactory(), opened=0)
    pool = prepare_pool(tmp_path / "pool.json", 5)
    learners = {lr["email"]: lr for lr in pool["learners"]}
    assert learners["officer-video@example.org"]["video_lesson"] == video.pk
    assert learners["officer-text@example.org"]["video_lesson"] is None
