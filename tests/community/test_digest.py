"""Subscriptions and the email digest."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail

from community import services
from community.models import Forum
from community.tasks import send_forum_digests
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_follower_gets_one_digest_of_new_replies_in_their_language(learner: Any) -> None:
    topic = Forum.objects.create(
        kind=Forum.Kind.TOPIC, slug="police-management", title={"en": "Police management"}
    )
    learner.preferred_language = "es"
    learner.save()
    thread = services.start_thread(
        forum=topic, author=learner, title="Turnos de patrulla", text="¿Cómo los planifican?"
    )
    colleague = UserFactory(full_name="Jean Baptiste")
    services.reply(thread=thread, author=colleague, text="Par quartiers.")
    services.reply(thread=thread, author=learner, text="Gracias")  # own posts are not sent back
    assert send_forum_digests() == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [learner.email]
    assert message.subject == "Nuevas publicaciones en las discusiones que sigue"
    assert "Turnos de patrulla — Jean Baptiste" in message.body
    assert message.body.count("#post-") == 1
    assert send_forum_digests() == 0


def test_unfollowed_thread_sends_nothing(learner: Any) -> None:
    topic = Forum.objects.create(kind=Forum.Kind.TOPIC, slug="crime", title={"en": "Crime"})
    thread = services.start_thread(forum=topic, author=learner, title="t", text="x")
    services.unsubscribe(user=learner, thread=thread)
    services.reply(thread=thread, author=UserFactory(), text="y")
    assert send_forum_digests() == 0
    assert mail.outbox == []
