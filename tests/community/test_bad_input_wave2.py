"""Bad input on the network's pages and chat, second wave: every refusal is a 4xx (an error frame
on the chat's socket, which stays open) in the person's language naming the field; the same
thing posted twice is stored once; an upload is what its name says and of an accepted type."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.utils import timezone

from community import services
from community.models import Ban, ChatMessage, Forum, LibraryItem, Post, Report, Thread
from community.routing import websocket_urlpatterns
from tests.community.factories import RunFactory, enrol, make_instructor
from tests.factories import RoleAssignmentFactory, UserFactory

pytestmark = pytest.mark.django_db

application = URLRouter(websocket_urlpatterns)


def _dps(language: str = "en") -> Any:
    user = UserFactory(is_staff=True, preferred_language=language)
    RoleAssignmentFactory(user=user, role="dps_admin")
    return user


def _signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


# 1. The chat's socket: an error frame naming the field, in the person's language -------------


def _socket(user: Any, run_id: int) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, f"/ws/chat/{run_id}/")
    communicator.scope["user"] = user
    return communicator


async def _next(communicator: WebsocketCommunicator, *skip: str) -> dict[str, Any]:
    """The next frame the socket sends, skipping presence updates (and the kinds in `skip`);
    a close or a crash of the consumer fails the test here."""
    for _ in range(20):
        output = await communicator.receive_output(timeout=5)
        assert output["type"] == "websocket.send", f"the socket was closed: {output}"
        frame = json.loads(output["text"])
        if frame["type"] not in {"presence", *skip}:
            return frame
    raise AssertionError("no frame")


async def _still_open(communicator: WebsocketCommunicator) -> None:
    await communicator.send_json_to({"type": "ping"})
    assert (await _next(communicator)) == {"type": "pong"}


def _exchange(user: Any, run_id: int, frames: list[Any]) -> list[dict[str, Any]]:
    """Send each frame (a dict as JSON, a str as it is, bytes as a binary frame, None as an
    empty text frame) and collect the answer to each; the socket must stay open after every one."""

    async def scenario() -> list[dict[str, Any]]:
        socket = _socket(user, run_id)
        assert (await socket.connect())[0]
        assert (await _next(socket))["type"] == "history"
        answers = []
        for frame in frames:
            if frame is None:  # an empty text frame (the communicator refuses to send one)
                await socket.send_input({"type": "websocket.receive", "text": ""})
            elif isinstance(frame, bytes):
                await socket.send_to(bytes_data=frame)
            elif isinstance(frame, str):
                await socket.send_to(text_data=frame)
            else:
                await socket.send_json_to(frame)
            answers.append(await _next(socket))
            await _still_open(socket)
        await socket.disconnect()
        return answers

    return async_to_sync(scenario)()


@pytest.fixture
def _redis(require_redis: str) -> None:
    cache.clear()


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_redis")
def test_a_malformed_frame_is_answered_and_the_socket_stays_open() -> None:
    run = RunFactory()
    ana = UserFactory()
    enrol(ana, run)
    answers = _exchange(
        ana,
        run.pk,
        ["{not json", "   ", None, b"\x00\x01", "[1, 2]", '"hello"', "[" * 5000, {"type": "dance"}],
    )
    for answer in answers[:-1]:
        assert answer["type"] == "error"
        assert answer["error"] == "Unreadable message: send a JSON object."
        assert "field" in answer
    assert answers[-1] == {
        "type": "error",
        "error": "type: use message, hide or ping.",
        "field": "type",
    }
    assert not ChatMessage.objects.exists()


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_redis")
def test_a_body_that_is_not_text_is_refused_naming_the_body_and_never_stored() -> None:
    run = RunFactory()
    ana = UserFactory()
    enrol(ana, run)
    bodies: list[Any] = [{"a": 1}, None, 5, ["x"], True]
    answers = _exchange(
        ana,
        run.pk,
        [{"type": "message", "body": body, "client_id": f"c{n}"} for n, body in enumerate(bodies)]
        + [{"type": "message", "client_id": "no-body"}],
    )
    for answer in answers:
        assert answer == {"type": "error", "error": "Message: must be text.", "field": "body"}
    assert not ChatMessage.objects.exists()


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_redis")
def test_a_bad_client_id_is_refused_naming_it() -> None:
    run = RunFactory()
    ana = UserFactory()
    enrol(ana, run)
    answers = _exchange(
        ana,
        run.pk,
        [
            {"type": "message", "body": "hola", "client_id": "x" * 65},
            {"type": "message", "body": "hola", "client_id": 7},
            {"type": "message", "body": "hola", "client_id": {"a": 1}},
        ],
    )
    assert answers[0] == {
        "type": "error",
        "error": "client_id: at most 64 characters.",
        "field": "client_id",
    }
    for answer in answers[1:]:
        assert answer == {
            "type": "error",
            "error": "client_id: must be text.",
            "field": "client_id",
        }
    assert not ChatMessage.objects.exists()


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_redis")
def test_a_null_character_or_a_lone_surrogate_is_refused_in_the_person_s_language() -> None:
    run = RunFactory()
    marie = UserFactory(preferred_language="fr")
    enrol(marie, run)
    answers = _exchange(
        marie,
        run.pk,
        [
            {"type": "message", "body": "bon\x00jour", "client_id": "n1"},
            {"type": "message", "body": "bonjour", "client_id": "n\x002"},
            '{"type": "message", "body": "bon\\ud800jour", "client_id": "n3"}',
        ],
    )
    assert answers[0] == {
        "type": "error",
        "error": "Message : un caractère nul n'est pas permis ici.",
        "field": "body",
    }
    assert answers[1] == {
        "type": "error",
        "error": "client_id : un caractère nul n'est pas permis ici.",
        "field": "client_id",
    }
    assert answers[2]["field"] == "body"
    assert not ChatMessage.objects.exists()


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_redis")
def test_refusals_read_in_the_person_s_preferred_language_not_english() -> None:
    run = RunFactory()
    marie = UserFactory(preferred_language="fr")
    enrol(marie, run)
    answers = _exchange(
        marie,
        run.pk,
        [
            {"type": "message", "body": "a" * 2001, "client_id": "long"},
            {"type": "message", "body": "   ", "client_id": "blank"},
            {"type": "hide", "id": 1},
        ],
    )
    assert answers[0] == {
        "type": "error",
        "error": "Un message de chat compte au plus 2 000 caractères.",
        "field": "body",
    }
    assert answers[1] == {"type": "error", "error": "Le message est vide.", "field": "body"}
    assert answers[2]["type"] == "error"
    assert answers[2]["error"] != "refused"
    assert not ChatMessage.objects.exists()


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_redis")
def test_hiding_with_an_id_that_is_not_a_positive_number_is_refused_naming_the_id() -> None:
    run = RunFactory()
    instructor = make_instructor(run)
    learner = UserFactory()
    enrol(learner, run)
    message = ChatMessage.objects.create(run=run, author=learner, body="hola")
    answers = _exchange(
        instructor,
        run.pk,
        [
            {"type": "hide", "id": [1]},
            {"type": "hide", "id": "1"},
            {"type": "hide", "id": 0},
            {"type": "hide", "id": -3},
            {"type": "hide", "id": 1.5},
            {"type": "hide", "id": True},
            {"type": "hide"},
            {"type": "hide", "id": 10**30},
            {"type": "hide", "id": message.pk + 1000},
        ],
    )
    for answer in answers:
        assert answer == {
            "type": "error",
            "error": "id: give the number of a message of this chat.",
            "field": "id",
        }
    assert not ChatMessage.objects.get(pk=message.pk).is_hidden
    # the right id still works
    assert _exchange(instructor, run.pk, [{"type": "hide", "id": message.pk}]) == [
        {"type": "hidden", "id": message.pk}
    ]


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_redis")
def test_a_good_message_after_refusals_is_stored_once() -> None:
    run = RunFactory()
    ana = UserFactory()
    enrol(ana, run)
    answers = _exchange(
        ana,
        run.pk,
        [
            "{oops",
            {"type": "message", "body": {"a": 1}, "client_id": "g"},
            {"type": "message", "body": "  Listos  ", "client_id": "g"},
            {"type": "message", "body": "  Listos  ", "client_id": "g"},
        ],
    )
    assert [answer["type"] for answer in answers] == ["error", "error", "message", "message"]
    assert list(ChatMessage.objects.values_list("body", flat=True)) == ["Listos"]


def test_the_chat_service_refuses_a_null_character_and_a_long_client_id(learner: Any) -> None:
    from django.core.exceptions import ValidationError

    run = RunFactory()
    enrol(learner, run)
    with pytest.raises(ValidationError) as refused:
        services.post_chat_message(run=run, author=learner, body="a\x00b")
    assert list(refused.value.message_dict) == ["body"]
    with pytest.raises(ValidationError) as refused:
        services.post_chat_message(run=run, author=learner, body="ab", client_id="c" * 65)
    assert list(refused.value.message_dict) == ["client_id"]
    assert not ChatMessage.objects.exists()


# 2. The same POST twice is stored once --------------------------------------------------------


def test_the_same_new_thread_posted_twice_is_one_thread(learner: Any, topic: Forum) -> None:
    client = _signed_in(learner)
    data = {"title": "Patrol shifts", "text": "How do you plan them?"}
    first = client.post(f"/community/forums/{topic.slug}/", data)
    second = client.post(f"/community/forums/{topic.slug}/", data, follow=True)
    thread = Thread.objects.get()
    assert first.status_code == 302
    assert first.url == f"/community/threads/{thread.pk}/"
    assert second.redirect_chain == [(f"/community/threads/{thread.pk}/", 302)]
    assert "This was already posted." in second.content.decode()
    assert Post.objects.count() == 1
    assert Forum.objects.get(pk=topic.pk).thread_count == 1
    # another text, or the same text long after, is a new thread
    client.post(f"/community/forums/{topic.slug}/", {**data, "text": "And the nights?"})
    Thread.objects.update(created_at=timezone.now() - timedelta(seconds=61))
    Post.objects.update(created_at=timezone.now() - timedelta(seconds=61))
    client.post(f"/community/forums/{topic.slug}/", data)
    assert Thread.objects.count() == 3


def test_another_person_may_post_the_same_thread(learner: Any, topic: Forum) -> None:
    data = {"title": "Hello", "text": "Hello all"}
    _signed_in(learner).post(f"/community/forums/{topic.slug}/", data)
    _signed_in(UserFactory()).post(f"/community/forums/{topic.slug}/", data)
    assert Thread.objects.count() == 2


def test_the_same_reply_posted_twice_is_one_post(learner: Any, topic: Forum) -> None:
    thread = services.start_thread(forum=topic, author=learner, title="t", text="first")
    client = _signed_in(learner)
    first = client.post(f"/community/threads/{thread.pk}/", {"text": "Me too"})
    second = client.post(f"/community/threads/{thread.pk}/", {"text": "Me too"})
    reply = Post.objects.get(thread=thread, body__contains="Me too")
    assert first.status_code == second.status_code == 302
    assert second.url == first.url == f"/community/threads/{thread.pk}/?page=last#post-{reply.pk}"
    assert Thread.objects.get(pk=thread.pk).reply_count == 1
    page = client.get(second.url).content.decode()
    assert "This was already posted." in page


def test_the_plain_chat_form_sent_twice_is_one_message(learner: Any) -> None:
    run = RunFactory()
    enrol(learner, run)
    client = _signed_in(learner)
    first = client.post(f"/community/runs/{run.pk}/chat/", {"body": "Buenos días"})
    second = client.post(f"/community/runs/{run.pk}/chat/", {"body": "Buenos días"}, follow=True)
    assert first.status_code == 302
    assert second.redirect_chain == [(f"/community/runs/{run.pk}/chat/", 302)]
    assert "This was already posted." in second.content.decode()
    assert ChatMessage.objects.count() == 1


def test_reporting_a_post_twice_is_one_report(learner: Any, topic: Forum) -> None:
    thread = services.start_thread(forum=topic, author=learner, title="t", text="x")
    post = Post.objects.get(thread=thread)
    reporter = UserFactory()
    client = _signed_in(reporter)
    first = client.post(f"/community/posts/{post.pk}/report/", {"reason": "insult"})
    second = client.post(f"/community/posts/{post.pk}/report/", {"reason": "again"}, follow=True)
    assert first.status_code == 302
    assert second.redirect_chain == [(f"/community/threads/{thread.pk}/", 302)]
    assert "You have already reported this message." in second.content.decode()
    assert Report.objects.filter(post=post).count() == 1
    # another person's report is theirs
    _signed_in(UserFactory()).post(f"/community/posts/{post.pk}/report/", {"reason": "spam"})
    assert Report.objects.filter(post=post).count() == 2


def test_the_database_keeps_one_report_per_post_and_person(learner: Any, topic: Forum) -> None:
    thread = services.start_thread(forum=topic, author=learner, title="t", text="x")
    post = Post.objects.get(thread=thread)
    Report.objects.create(post=post, reporter=learner, reason="a")
    with pytest.raises(IntegrityError), transaction.atomic():
        Report.objects.create(post=post, reporter=learner, reason="b")


def _at_once(count: int, work: Any) -> list[Any]:
    """Run `work` in `count` threads released together; each closes its own connection. Tests
    using it need PostgreSQL (`require_postgres`): the in-memory SQLite of a bare laptop's test
    run refuses concurrent writers ("database table is locked") rather than waiting."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work()
        except Exception as exc:  # noqa: BLE001 - reported below
            results[index] = exc
        finally:
            connection.close()

    workers = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    return results


@pytest.mark.django_db(transaction=True)
def test_five_identical_new_threads_at_once_are_one_thread(
    learner: Any, require_postgres: None
) -> None:
    topic = Forum.objects.create(kind=Forum.Kind.TOPIC, slug="busy", title={"en": "Busy"})

    def post() -> int:
        response = _signed_in(learner).post(
            f"/community/forums/{topic.slug}/", {"title": "Same", "text": "Same text"}
        )
        return response.status_code

    assert _at_once(5, post) == [302] * 5
    assert Thread.objects.count() == 1
    assert Post.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_five_identical_replies_at_once_are_one_post(learner: Any, require_postgres: None) -> None:
    topic = Forum.objects.create(kind=Forum.Kind.TOPIC, slug="busy", title={"en": "Busy"})
    thread = services.start_thread(forum=topic, author=learner, title="t", text="first")

    def post() -> int:
        response = _signed_in(learner).post(f"/community/threads/{thread.pk}/", {"text": "Same"})
        return response.status_code

    assert _at_once(5, post) == [302] * 5
    assert Post.objects.filter(thread=thread).count() == 2
    assert Thread.objects.get(pk=thread.pk).reply_count == 1


# 3. The field that is wrong is the one named, on the page ------------------------------------


@pytest.fixture
def reported(learner: Any, topic: Forum) -> Post:
    thread = services.start_thread(forum=topic, author=learner, title="Rude one", text="x")
    return Post.objects.get(thread=thread)


@pytest.mark.parametrize("days", ["abc", "0", "99999", "1,5", "-2"])
def test_a_ban_with_bad_days_names_the_days_on_the_thread_page(reported: Post, days: str) -> None:
    response = _signed_in(_dps()).post(
        f"/community/posts/{reported.pk}/moderate/",
        {"action": "ban", "reason": "spam", "days": days},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "<html" in page
    assert "Rude one" in page
    assert "Days: enter a whole number from 1 to 3,650, or leave it empty." in page
    assert "Give the reason for the ban." not in page
    assert f'value="{days}"' in page  # what was typed is shown again
    assert not Ban.objects.exists()


def test_a_ban_with_bad_days_in_french_no_longer_blames_the_reason(reported: Post) -> None:
    response = _signed_in(_dps("fr")).post(
        f"/community/posts/{reported.pk}/moderate/",
        {"action": "ban", "reason": "spam", "days": "abc"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert '<html lang="fr"' in page
    assert "Indiquez le motif du bannissement." not in page
    assert not Ban.objects.exists()


def test_a_ban_without_reason_or_with_a_long_one_names_the_reason(reported: Post) -> None:
    client = _signed_in(_dps())
    missing = client.post(
        f"/community/posts/{reported.pk}/moderate/", {"action": "ban", "reason": " ", "days": "3"}
    )
    assert missing.status_code == 400
    assert "Give the reason for the ban." in missing.content.decode()
    long = client.post(
        f"/community/posts/{reported.pk}/moderate/",
        {"action": "ban", "reason": "r" * 600, "days": "3"},
    )
    assert long.status_code == 400
    assert "Reason: at most 500 characters." in long.content.decode()
    assert not Ban.objects.exists()


def test_a_good_ban_still_works(reported: Post) -> None:
    response = _signed_in(_dps()).post(
        f"/community/posts/{reported.pk}/moderate/",
        {"action": "ban", "reason": "spam", "days": "3650"},
    )
    assert response.status_code == 302
    ban = Ban.objects.get()
    assert ban.until is not None
    assert abs(ban.until - (timezone.now() + timedelta(days=3650))) < timedelta(minutes=1)


def test_a_bad_ban_by_someone_who_does_not_moderate_is_forbidden(reported: Post) -> None:
    response = _signed_in(UserFactory()).post(
        f"/community/posts/{reported.pk}/moderate/",
        {"action": "ban", "reason": "spam", "days": "abc"},
    )
    assert response.status_code == 403


def test_a_long_report_reason_names_the_limit_on_the_thread_page(reported: Post) -> None:
    response = _signed_in(UserFactory()).post(
        f"/community/posts/{reported.pk}/report/", {"reason": "r" * 600}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "<html" in page
    assert "Rude one" in page
    assert "Reason: at most 500 characters." in page
    assert "Say why you report this message." not in page
    assert not Report.objects.exists()


def test_a_long_report_reason_in_portuguese_no_longer_says_it_is_missing(reported: Post) -> None:
    response = _signed_in(UserFactory(preferred_language="pt")).post(
        f"/community/posts/{reported.pk}/report/", {"reason": "r" * 600}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert '<html lang="pt"' in page
    assert "Diga por que denuncia esta mensagem." not in page


def test_an_empty_report_reason_is_named_on_the_page(reported: Post) -> None:
    response = _signed_in(UserFactory()).post(
        f"/community/posts/{reported.pk}/report/", {"reason": "  "}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "<html" in page
    assert "Say why you report this message." in page


# 4. Library uploads ---------------------------------------------------------------------------


def _library_post(client: Client, name: str, content: bytes) -> Any:
    upload = SimpleUploadedFile(name, content, content_type="application/octet-stream")
    return client.post(
        "/community/library/new/",
        {"kind": "publication", "title": "Guide", "language": "en", "file": upload},
        HTTP_ACCEPT_LANGUAGE="en",
    )


REFUSED = "cannot be attached"
MISNAMED = "does not hold what its name says"


@pytest.mark.parametrize(
    ("name", "content", "told"),
    [
        ("tool.exe", b"MZ\x90\x00", REFUSED),
        ("page.html", b"<script>alert(1)</script>", REFUSED),
        ("picture.svg", b"<svg onload='alert(1)'/>", REFUSED),
        ("noextension", b"%PDF-1.4", REFUSED),
        ("guide.pdf", b"MZ\x90\x00 a program", MISNAMED),
        ("photo.png", b"<html>", MISNAMED),
        ("photo.JPG", b"GIF89a", MISNAMED),
        ("report.docx", b"<script>alert(1)</script>", MISNAMED),
        ("sheet.xlsx", b"%PDF-1.4", MISNAMED),
        ("slides.odp", b"plain text", MISNAMED),
        ("bundle.zip", b"not a zip", MISNAMED),
    ],
)
def test_the_library_refuses_a_program_a_page_or_a_misnamed_file_naming_it(
    coordinator: Any, settings: Any, tmp_path: Any, name: str, content: bytes, told: str
) -> None:
    settings.MEDIA_ROOT = tmp_path
    response = _library_post(_signed_in(coordinator), name, content)
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_file_error"' in page
    assert f"“{name}” {told}" in page
    assert not LibraryItem.objects.exists()


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("guide.pdf", b"%PDF-1.7\n%..."),
        ("photo.png", b"\x89PNG\r\n\x1a\n...."),
        ("photo.jpeg", b"\xff\xd8\xff\xe0..JFIF"),
        ("report.docx", b"PK\x03\x04...."),
        ("notes.txt", b"plain text"),
    ],
)
def test_the_library_accepts_a_document_that_is_what_its_name_says(
    coordinator: Any, settings: Any, tmp_path: Any, name: str, content: bytes
) -> None:
    settings.MEDIA_ROOT = tmp_path
    response = _library_post(_signed_in(coordinator), name, content)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert LibraryItem.objects.get().file.name.endswith(name.rpartition(".")[2])


def test_the_library_file_field_offers_only_the_accepted_types(coordinator: Any) -> None:
    page = _signed_in(coordinator).get("/community/library/new/").content.decode()
    assert 'accept=".csv,.docx,' in page
    assert ".exe" not in page


def test_a_forum_attachment_whose_content_is_not_what_its_name_says_is_refused(
    learner: Any, topic: Forum, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path
    upload = SimpleUploadedFile("map.png", b"<script>alert(1)</script>", content_type="image/png")
    response = _signed_in(learner).post(
        f"/community/forums/{topic.slug}/", {"title": "Map", "text": "x", "attachment": upload}
    )
    assert response.status_code == 400
    assert 'id="id_attachment_error"' in response.content.decode()
    assert not Thread.objects.exists()
