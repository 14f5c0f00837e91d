"""Forums: who reads, who posts, who moderates; sanitising; the audit trail."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from community import services
from community.models import Forum, ModerationAction, Post, Thread
from tests.community.factories import RunFactory, enrol, make_instructor
from tests.factories import InstitutionFactory, RoleAssignmentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def run() -> Any:
    return RunFactory()


def test_enrolled_officer_reads_and_posts_in_run_forum(client: Any, learner: Any, run: Any) -> None:
    enrol(learner, run)
    forum = services.forum_for_run(run=run)
    client.force_login(learner)
    response = client.post(
        f"/community/forums/{forum.slug}/",
        {"title": "Patrol shifts", "text": "How do you plan them?"},
    )
    assert response.status_code == 302
    assert Thread.objects.filter(forum=forum, title="Patrol shifts").exists()


def test_officer_not_in_run_is_refused_its_forum(client: Any, learner: Any, run: Any) -> None:
    forum = services.forum_for_run(run=run)
    client.force_login(learner)
    assert client.get(f"/community/forums/{forum.slug}/").status_code == 403
    assert client.get(f"/community/runs/{run.pk}/chat/").status_code == 403


def test_officer_of_another_institution_is_refused_institution_forum(
    client: Any, learner: Any
) -> None:
    forum = services.forum_for_institution(institution=InstitutionFactory())
    client.force_login(learner)
    assert client.get(f"/community/forums/{forum.slug}/").status_code == 403


def test_own_institution_forum_and_topics_are_listed(
    client: Any, learner: Any, topic: Forum
) -> None:
    own = services.forum_for_institution(institution=learner.institution)
    other = services.forum_for_institution(institution=InstitutionFactory())
    client.force_login(learner)
    page = client.get("/community/").content.decode()
    assert own.slug in page
    assert topic.slug in page
    assert other.slug not in page


def test_anonymous_is_sent_to_sign_in(client: Any, topic: Forum) -> None:
    response = client.get(f"/community/forums/{topic.slug}/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_script_injection_is_neutralised(learner: Any, topic: Forum) -> None:
    thread = services.start_thread(
        forum=topic,
        author=learner,
        title="x",
        text="<script>alert(1)</script><img src=x onerror=alert(2)> see https://example.org/a?b=1",
    )
    body = Post.objects.get(thread=thread).body
    assert "<script" not in body
    assert "<img" not in body
    assert "&lt;script&gt;" in body  # shown as text, never run
    assert '<a href="https://example.org/a?b=1"' in body


def test_instructor_moderates_own_run_but_not_another(learner: Any, run: Any) -> None:
    instructor = make_instructor(run)
    other_run = RunFactory()
    enrol(learner, run)
    enrol(learner, other_run)
    thread = services.start_thread(
        forum=services.forum_for_run(run=run), author=learner, title="t", text="hello"
    )
    other_thread = services.start_thread(
        forum=services.forum_for_run(run=other_run), author=learner, title="t", text="hi"
    )
    services.set_thread_locked(thread=thread, moderator=instructor, locked=True, reason="off topic")
    assert Thread.objects.get(pk=thread.pk).is_locked
    with pytest.raises(PermissionDenied):
        services.set_thread_locked(thread=other_thread, moderator=instructor, locked=True)
    assert (
        ModerationAction.objects.filter(
            actor=instructor, action="lock_thread", thread=thread
        ).count()
        == 1
    )


def test_learner_cannot_moderate(client: Any, learner: Any, topic: Forum) -> None:
    thread = services.start_thread(forum=topic, author=learner, title="t", text="hello")
    post = Post.objects.get(thread=thread)
    client.force_login(UserFactory())
    response = client.post(f"/community/posts/{post.pk}/moderate/", {"action": "hide"})
    assert response.status_code == 403
    assert not Post.objects.get(pk=post.pk).is_hidden


def test_dps_moderates_everywhere_and_hidden_post_disappears(
    client: Any, learner: Any, dps_admin: Any, topic: Forum
) -> None:
    thread = services.start_thread(forum=topic, author=learner, title="t", text="first")
    reply = services.reply(thread=thread, author=learner, text="rude words")
    services.set_post_hidden(post=reply, moderator=dps_admin, hidden=True, reason="insult")
    client.force_login(UserFactory())
    page = client.get(f"/community/threads/{thread.pk}/").content.decode()
    assert "rude words" not in page
    assert "first" in page


def test_locked_thread_refuses_replies(learner: Any, dps_admin: Any, topic: Forum) -> None:
    thread = services.start_thread(forum=topic, author=learner, title="t", text="first")
    services.set_thread_locked(thread=thread, moderator=dps_admin, locked=True)
    with pytest.raises(ValidationError):
        services.reply(thread=thread, author=learner, text="more")


def test_banned_member_cannot_post_and_ban_is_audited(learner: Any, run: Any) -> None:
    instructor = make_instructor(run)
    enrol(learner, run)
    forum = services.forum_for_run(run=run)
    thread = services.start_thread(forum=forum, author=learner, title="t", text="first")
    services.ban_member(forum=forum, user=learner, moderator=instructor, reason="spam")
    with pytest.raises(PermissionDenied):
        services.reply(thread=thread, author=learner, text="again")
    assert ModerationAction.objects.filter(action="ban", target_user=learner, forum=forum).exists()


def test_only_dps_bans_everywhere(learner: Any, run: Any) -> None:
    instructor = make_instructor(run)
    with pytest.raises(PermissionDenied):
        services.ban_member(forum=None, user=learner, moderator=instructor, reason="spam")


def test_coordinator_moderates_own_institution_forum_only(coordinator: Any, learner: Any) -> None:
    forum = services.forum_for_institution(institution=learner.institution)
    thread = services.start_thread(forum=forum, author=learner, title="t", text="x")
    services.hide_thread(thread=thread, moderator=coordinator)
    other_forum = services.forum_for_institution(institution=InstitutionFactory())
    outsider = UserFactory(institution=other_forum.institution)
    other_thread = services.start_thread(forum=other_forum, author=outsider, title="t", text="x")
    with pytest.raises(PermissionDenied):
        services.hide_thread(thread=other_thread, moderator=coordinator)


def test_report_reaches_moderators_queue(client: Any, learner: Any, topic: Forum) -> None:
    thread = services.start_thread(forum=topic, author=learner, title="t", text="x")
    post = Post.objects.get(thread=thread)
    reporter = UserFactory()
    client.force_login(reporter)
    assert (
        client.post(f"/community/posts/{post.pk}/report/", {"reason": "insult"}).status_code == 302
    )
    assert post.reports.filter(reporter=reporter, status="open").exists()


def test_forum_page_queries_do_not_grow_with_threads(
    client: Any, learner: Any, topic: Forum, django_assert_max_num_queries: Any
) -> None:
    client.force_login(learner)
    for index in range(3):
        services.start_thread(forum=topic, author=UserFactory(), title=f"t{index}", text="x")
    client.get(f"/community/forums/{topic.slug}/")
    with django_assert_max_num_queries(14) as few:
        client.get(f"/community/forums/{topic.slug}/")
    for index in range(20):
        services.start_thread(forum=topic, author=UserFactory(), title=f"u{index}", text="x")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(f"/community/forums/{topic.slug}/")


def test_role_assignment_scope_is_respected_for_directory(client: Any, learner: Any) -> None:
    RoleAssignmentFactory(user=learner, role="learner")
    client.force_login(learner)
    assert client.get("/community/directory/").status_code == 200
    client.logout()
    assert client.get("/community/directory/").status_code == 302


def test_library_html_loses_scripts_and_handlers(dps_admin: Any) -> None:
    item = services.save_library_item(
        author=dps_admin,
        kind="news",
        title="t",
        language="es",
        body='<p onclick="x()">ok</p><script>alert(1)</script><a href="javascript:alert(1)">l</a>',
    )
    assert item.body.startswith("<p>ok</p>")
    assert "script" not in item.body
    assert "onclick" not in item.body
    assert "javascript:" not in item.body


def test_attachment_is_stored_and_listed(
    client: Any, learner: Any, topic: Forum, settings: Any, tmp_path: Any
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    client.force_login(learner)
    upload = SimpleUploadedFile("protocolo.pdf", b"%PDF-1.4 test", content_type="application/pdf")
    response = client.post(
        f"/community/forums/{topic.slug}/",
        {"title": "Protocolo", "text": "Adjunto", "attachment": upload},
    )
    assert response.status_code == 302
    thread = Thread.objects.get(title="Protocolo")
    page = client.get(f"/community/threads/{thread.pk}/").content.decode()
    assert "protocolo.pdf" in page


def test_search_finds_threads_only_in_readable_forums(
    client: Any, learner: Any, topic: Forum, require_postgres: None
) -> None:
    services.start_thread(
        forum=topic, author=learner, title="Checkpoint procedures", text="vehicle stops"
    )
    hidden_forum = services.forum_for_institution(institution=InstitutionFactory())
    outsider = UserFactory(institution=hidden_forum.institution)
    services.start_thread(
        forum=hidden_forum, author=outsider, title="Checkpoint secrets", text="internal"
    )
    client.force_login(learner)
    page = client.get("/community/search/", {"q": "checkpoint"}).content.decode()
    assert "Checkpoint procedures" in page
    assert "Checkpoint secrets" not in page
