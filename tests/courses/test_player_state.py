"""The lesson player's state kept beside the session (courses.player_state): every write of what
it holds forgets it, through whichever path, so that the next page shows the write; a state is
served only to its owner; a page that read the database before a write cannot keep its old
state after it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import caches
from django.test import Client
from django.urls import reverse

from courses import player_state, selectors, services
from courses.models import Enrollment, Lesson, LessonProgress
from lms.db import bulk_update
from tests.courses.factories import enrol_in_text_course
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _url(enrollment: Enrollment, lesson_id: int) -> str:
    return reverse("courses:lesson", args=[enrollment.registration, lesson_id])


def _kept(enrollment: Enrollment) -> Any:
    return caches["default"].get(player_state.key(enrollment.pk))


def _opened(client: Client, learner: Any, lessons: int = 3) -> tuple[Enrollment, list[int]]:
    """An enrolment whose first lesson the learner opened, and whose state is kept."""
    enrollment, ids = enrol_in_text_course(learner, lessons)
    client.force_login(learner)
    assert client.get(_url(enrollment, ids[0])).status_code == 200
    caches["default"].delete(player_state.key(enrollment.pk))  # any tombstone gone
    assert client.get(_url(enrollment, ids[0])).status_code == 200
    assert isinstance(_kept(enrollment), selectors.PlayerEnrollment)
    return enrollment, ids


def _withdraw(enrollment: Enrollment, ids: list[int], learner: Any) -> None:
    services.withdraw(enrollment=enrollment, actor=learner)


def _update_status(enrollment: Enrollment, ids: list[int], learner: Any) -> None:
    Enrollment.objects.filter(pk=enrollment.pk).update(status=Enrollment.Status.WITHDRAWN)


def _bulk_update_status(enrollment: Enrollment, ids: list[int], learner: Any) -> None:
    bulk_update([Enrollment(pk=enrollment.pk, status=Enrollment.Status.WITHDRAWN)], ["status"])


def _django_bulk_update_status(enrollment: Enrollment, ids: list[int], learner: Any) -> None:
    enrollment.status = Enrollment.Status.WITHDRAWN
    Enrollment.objects.bulk_update([enrollment], ["status"])


def _delete(enrollment: Enrollment, ids: list[int], learner: Any) -> None:
    enrollment.delete()


REFUSALS: dict[str, tuple[Callable[[Enrollment, list[int], Any], None], int]] = {
    "withdrawn (services.withdraw)": (_withdraw, 403),
    "status by QuerySet.update": (_update_status, 403),
    "status by lms.db.bulk_update": (_bulk_update_status, 403),
    "status by QuerySet.bulk_update": (_django_bulk_update_status, 403),
    "enrolment deleted": (_delete, 404),
}


@pytest.mark.parametrize("write", list(REFUSALS))
def test_a_kept_state_does_not_outlive_the_enrolment(
    client: Client, learner: Any, write: str
) -> None:
    enrollment, ids = _opened(client, learner)
    change, status = REFUSALS[write]
    change(enrollment, ids, learner)
    assert client.get(_url(enrollment, ids[0])).status_code == status


def _progress_deleted(enrollment: Enrollment, ids: list[int]) -> None:
    LessonProgress.objects.filter(enrollment=enrollment).delete()


def _progress_row_deleted(enrollment: Enrollment, ids: list[int]) -> None:
    LessonProgress.objects.get(enrollment=enrollment, lesson_id=ids[0]).delete()


def _progress_created(enrollment: Enrollment, ids: list[int]) -> None:
    LessonProgress.objects.create(enrollment=enrollment, lesson_id=ids[1], status="completed")


def _progress_bulk_created(enrollment: Enrollment, ids: list[int]) -> None:
    LessonProgress.objects.bulk_create(
        [LessonProgress(enrollment=enrollment, lesson_id=ids[1], status="completed")]
    )


def _progress_updated(enrollment: Enrollment, ids: list[int]) -> None:
    LessonProgress.objects.filter(enrollment=enrollment).update(status="started")


def _result_recorded(enrollment: Enrollment, ids: list[int]) -> None:
    # what a graded quiz or launched content's outcome records (courses.services)
    enrollment.refresh_from_db()
    services.record_lesson_result(
        enrollment=enrollment, lesson=Lesson.objects.get(pk=ids[1]), completed=True,
        passed=True, score_pct=None, actor=enrollment.user,
    )  # fmt: skip


def _pct_saved(enrollment: Enrollment, ids: list[int]) -> None:
    enrollment.refresh_from_db()
    enrollment.progress_pct = 100
    enrollment.save(update_fields=["progress_pct"])


# Each write, and what the next page shows after it (None: the page would record the lesson
# again, as a first view; that the state was forgotten is what counts).
SHOWN: dict[str, tuple[Callable[[Enrollment, list[int]], None], Callable[[str], bool] | None]]
SHOWN = {
    "progress deleted": (_progress_deleted, None),
    "a progress row deleted": (_progress_row_deleted, None),
    "progress created": (_progress_created, lambda page: page.count("✓") == 2),
    "progress bulk_create": (_progress_bulk_created, lambda page: page.count("✓") == 2),
    "progress by QuerySet.update": (_progress_updated, lambda page: page.count("✓") == 0),
    "enrolment saved": (_pct_saved, lambda page: 'aria-valuenow="100"' in page),
    "a result recorded": (_result_recorded, lambda page: page.count("✓") == 2),
}


@pytest.mark.parametrize("write", list(SHOWN))
def test_the_next_page_shows_each_write_of_the_progress(
    client: Client, learner: Any, write: str
) -> None:
    enrollment, ids = _opened(client, learner)
    before = client.get(_url(enrollment, ids[0])).content.decode()
    change, shows = SHOWN[write]
    assert shows is None or not shows(before)
    change(enrollment, ids)
    assert player_state.read(enrollment.registration, learner.pk) is None
    if shows is not None:
        assert shows(client.get(_url(enrollment, ids[0])).content.decode())


def test_the_course_title_and_a_video_position_reach_the_next_page(
    client: Client, learner: Any
) -> None:
    enrollment, ids = _opened(client, learner)
    course = enrollment.run.course
    course.title = {"en": "Renamed course", "es": "Curso renombrado"}
    course.save()
    assert (
        "Renamed course"
        in client.get(_url(enrollment, ids[0]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    )

    video = Lesson.objects.create(
        version_id=enrollment.version_id, module=Lesson.objects.get(pk=ids[0]).module,
        position=9, kind=Lesson.Kind.VIDEO, title={"en": "Case"},
        video_url="https://example.org/v.mp4",
    )  # fmt: skip
    client.get(_url(enrollment, video.pk))
    caches["default"].delete(player_state.key(enrollment.pk))
    client.get(_url(enrollment, video.pk))
    assert isinstance(_kept(enrollment), selectors.PlayerEnrollment)
    enrollment.refresh_from_db()
    services.save_video_position(enrollment=enrollment, lesson=video, seconds=125)
    assert 'data-start="125"' in client.get(_url(enrollment, video.pk)).content.decode()


def test_a_kept_state_serves_only_its_owner(client: Client, learner: Any) -> None:
    enrollment, ids = _opened(client, learner)
    other = UserFactory()
    assert player_state.read(enrollment.registration, other.pk) is None
    client.force_login(other)
    assert client.get(_url(enrollment, ids[0])).status_code == 404


def test_a_read_before_a_write_cannot_keep_its_old_state(
    client: Client, learner: Any, django_capture_on_commit_callbacks: Any
) -> None:
    enrollment, ids = _opened(client, learner)
    old = selectors.player_enrollment(registration=enrollment.registration, user_id=learner.pk)
    assert old is not None
    # A write forgets the state: the page that read before it may neither keep nor replace it.
    player_state.forget(enrollment.pk)
    player_state.keep(old)
    player_state.replace(old)
    assert _kept(enrollment) == player_state.TOMBSTONE
    assert player_state.read(enrollment.registration, learner.pk) is None
    # Once the tombstone is gone a page keeps what it reads.
    caches["default"].delete(player_state.key(enrollment.pk))
    player_state.keep(old)
    assert player_state.read(enrollment.registration, learner.pk) == old
    # A write in a transaction lays the tombstone again when it commits: a page that read
    # before the commit, and kept its state after the first tombstone went, loses it then.
    with django_capture_on_commit_callbacks(execute=True):
        player_state.forget(enrollment.pk)
        caches["default"].delete(player_state.key(enrollment.pk))
        player_state.keep(old)
        assert player_state.read(enrollment.registration, learner.pk) == old
    assert _kept(enrollment) == player_state.TOMBSTONE
