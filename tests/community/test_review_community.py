"""Review of the network: hidden posts leaking through counts and search, list pages' links."""

from __future__ import annotations

from typing import Any

import pytest

from community import services
from community.models import Forum, LibraryItem, Post, Thread
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_hidden_reply_is_not_counted_in_the_forum_list(
    client: Any, learner: Any, dps_admin: Any, topic: Forum
) -> None:
    thread = services.start_thread(forum=topic, author=learner, title="Shifts", text="first")
    kept = services.reply(thread=thread, author=UserFactory(), text="a useful answer")
    rude = services.reply(thread=thread, author=UserFactory(), text="rude words")
    services.set_post_hidden(post=rude, moderator=dps_admin, hidden=True, reason="insult")
    # hiding again (a second click) changes nothing
    services.set_post_hidden(post=rude, moderator=dps_admin, hidden=True, reason="insult")
    assert Thread.objects.get(pk=thread.pk).reply_count == 1
    client.force_login(UserFactory())
    page = client.get(f"/community/forums/{topic.slug}/").content.decode()
    assert "<td>1</td>" in page
    assert "<td>2</td>" not in page
    services.set_post_hidden(post=rude, moderator=dps_admin, hidden=False)
    services.set_post_hidden(post=rude, moderator=dps_admin, hidden=False)
    assert Thread.objects.get(pk=thread.pk).reply_count == 2
    # hiding the opening post changes no reply count
    services.set_post_hidden(
        post=Post.objects.get(thread=thread, body__contains="first"),
        moderator=dps_admin,
        hidden=True,
    )
    assert Thread.objects.get(pk=thread.pk).reply_count == 2
    assert kept.pk


def test_a_hidden_thread_is_not_counted_on_the_network_page(
    client: Any, learner: Any, dps_admin: Any, topic: Forum
) -> None:
    services.start_thread(forum=topic, author=learner, title="Kept", text="x")
    hidden = services.start_thread(forum=topic, author=learner, title="Spam", text="y")
    services.hide_thread(thread=hidden, moderator=dps_admin, reason="spam")
    services.hide_thread(thread=hidden, moderator=dps_admin, reason="spam")
    assert Forum.objects.get(pk=topic.pk).thread_count == 1


def test_the_text_of_a_hidden_opening_post_is_not_found_by_search(
    client: Any, learner: Any, dps_admin: Any, topic: Forum
) -> None:
    thread = services.start_thread(
        forum=topic, author=learner, title="Patrol", text="the informant is zanzibarcode"
    )
    first = Post.objects.get(thread=thread)
    services.set_post_hidden(post=first, moderator=dps_admin, hidden=True, reason="doxxing")
    client.force_login(UserFactory())
    page = client.get("/community/search/", {"q": "zanzibarcode"}).content.decode()
    assert f"/community/threads/{thread.pk}/" not in page
    # the title is still found, and the text again once the post is restored
    page = client.get("/community/search/", {"q": "patrol"}).content.decode()
    assert f"/community/threads/{thread.pk}/" in page
    services.set_post_hidden(post=first, moderator=dps_admin, hidden=False)
    page = client.get("/community/search/", {"q": "zanzibarcode"}).content.decode()
    assert f"/community/threads/{thread.pk}/" in page


def test_the_next_page_of_a_search_keeps_a_query_with_an_ampersand(
    client: Any, learner: Any, topic: Forum
) -> None:
    for index in range(26):
        services.start_thread(forum=topic, author=learner, title=f"R&D budget {index}", text="x")
    client.force_login(learner)
    page = client.get("/community/search/", {"q": "R&D"}).content.decode()
    assert "q=R%26D&amp;page=2" in page


def test_the_next_page_of_the_library_keeps_a_query_with_an_ampersand(
    client: Any, dps_admin: Any
) -> None:
    for index in range(21):
        item = services.save_library_item(
            author=dps_admin,
            kind=LibraryItem.Kind.NEWS,
            title=f"Fish & chips {index}",
            language="en",
        )
        LibraryItem.objects.filter(pk=item.pk).update(status=LibraryItem.Status.PUBLISHED)
    client.force_login(dps_admin)
    page = client.get("/community/library/", {"q": "fish & chips"}).content.decode()
    assert "Fish &amp; chips" in page
    assert "q=fish+%26+chips&amp;page=2" in page


def test_a_reply_in_a_long_thread_lands_on_the_page_that_shows_it(
    client: Any, learner: Any, topic: Forum
) -> None:
    thread = services.start_thread(forum=topic, author=learner, title="Long", text="first")
    for index in range(35):
        services.reply(thread=thread, author=UserFactory(), text=f"answer number {index}")
    client.force_login(learner)
    response = client.post(f"/community/threads/{thread.pk}/", {"text": "my late reply"})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    post = Post.objects.get(thread=thread, body__contains="my late reply")
    assert f'id="post-{post.pk}"' in page


def test_a_post_written_while_the_digest_runs_is_sent_once(learner: Any, topic: Forum) -> None:
    from datetime import timedelta
    from unittest import mock

    from django.core import mail
    from django.utils import timezone

    from community.tasks import send_forum_digests

    thread = services.start_thread(forum=topic, author=learner, title="Shifts", text="first")
    services.reply(thread=thread, author=UserFactory(), text="before the digest")
    started = timezone.now()
    # written by a colleague after the digest started, while it was mailing other followers
    late = Post.objects.create(
        thread=thread,
        author=UserFactory(),
        body="<p>while it ran</p>",
        created_at=started + timedelta(seconds=30),
    )
    with mock.patch("community.tasks.timezone.now", return_value=started):
        send_forum_digests()
    with mock.patch("community.tasks.timezone.now", return_value=started + timedelta(days=1)):
        send_forum_digests()
    sent = [message.body for message in mail.outbox]
    assert sum(body.count(f"#post-{late.pk}") for body in sent) == 1
