"""Mentions notify the member mentioned, in their language, only where they can read."""

from __future__ import annotations

from typing import Any

import pytest

from community import services
from lms.accounts.models import Notification
from tests.community.factories import RunFactory, enrol
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_mentioned_member_is_notified_in_their_language(
    learner: Any, django_capture_on_commit_callbacks: Any
) -> None:
    run = RunFactory()
    colleague = UserFactory(
        email="jean.baptiste@example.org", full_name="Jean Baptiste", preferred_language="fr"
    )
    outsider = UserFactory(email="outsider@example.org")
    enrol(learner, run)
    enrol(colleague, run)
    forum = services.forum_for_run(run=run)
    with django_capture_on_commit_callbacks(execute=True):
        services.start_thread(
            forum=forum,
            author=learner,
            title="Exercice de terrain",
            text="@jean.baptiste@example.org et @outsider@example.org, regardez ceci.",
        )
    notifications = list(Notification.objects.filter(user__in=[colleague, outsider]))
    assert [n.user_id for n in notifications] == [colleague.pk]
    assert (
        notifications[0].subject
        == f"{learner.full_name} vous a mentionné dans « Exercice de terrain »"
    )
    assert notifications[0].url.startswith("/community/threads/")
