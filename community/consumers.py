"""The cohort chat over WebSocket: history on joining, presence, idempotent sends, moderation.

A client that reconnects passes ?after=<last id it saw> and receives what it missed.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from community import selectors, services
from community.models import ChatMessage, ChatPresence
from community.receivers import chat_group
from courses.models import CourseRun
from lms.ids import as_id
from lms.sockets import NOT_ALLOWED, SIGNED_OUT, SessionBound, refuse

PRESENCE_WINDOW = timedelta(minutes=2)
MAX_ID = 2**63 - 1  # the largest primary key: a larger number is no message (and no query)
UNREADABLE = object()  # what decode_json gives for a frame that is not JSON


class FrameError(Exception):
    """A frame refused: answered {"type": "error", "error": message, "field": field}."""

    def __init__(self, field: str | None, message: Any) -> None:
        super().__init__(message)
        self.field = field
        self.message = message

    @classmethod
    def of(cls, exc: ValidationError | PermissionDenied) -> FrameError:
        """A service's refusal: the first field it names (none for a permission)."""
        if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
            field, messages = next(iter(exc.message_dict.items()))
            return cls(None if field == NON_FIELD_ERRORS else field, " ".join(messages))
        return cls(None, " ".join(getattr(exc, "messages", [str(exc)])))


def _serialise(message: ChatMessage) -> dict[str, Any]:
    return {
        "id": message.pk,
        "author": message.author.full_name,
        "author_id": message.author_id,
        "body": message.body,
        "created_at": message.created_at.isoformat(),
        "client_id": message.client_id,
    }


class ChatConsumer(SessionBound, AsyncJsonWebsocketConsumer):
    """ws/chat/<run_id>/: members of the run (enrolled learners, instructors, DPS) only.

    Membership is checked at connect and again before anything is delivered or done (a message,
    a hidden message, presence, a step the person sends), at most RECHECK_SECONDS after the
    last check: one query per socket and window, none in between. Whoever no longer belongs to
    the run (withdrawn, no longer its instructor, suspended) is disconnected with 4403, the code
    of a refused connect, and leaves the others' presence list: at once when the enrolment is
    withdrawn or the instructor removed (community.receivers asks the run's sockets of that
    person to check), else at that re-check. Signing out of the session the socket was opened
    in closes it at once (4401), and it leaves the presence list too; so does the re-check of
    a session that expired meanwhile.
    """

    RECHECK_SECONDS = 30.0

    run_id: int
    group: str
    checked_at: float = 0.0
    revoked: bool = False

    async def connect(self) -> None:
        user = self.scope.get("user")
        self.run_id = int(self.scope["url_route"]["kwargs"]["run_id"])
        self.group = chat_group(self.run_id)
        if user is None or not user.is_authenticated or not await self._may_join(user):
            self.revoked = True  # never joined: nothing to leave
            await refuse(self, NOT_ALLOWED)
            return
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.join_session()
        self.checked_at = time.monotonic()
        await self.accept()
        query = parse_qs(self.scope.get("query_string", b"").decode())
        after = query.get("after", [""])[0]
        # ASCII digits within a primary key's range ("²" is a digit to isdigit, not to int)
        after_id = as_id(after)
        readable = after_id is not None and after_id <= MAX_ID
        history = await self._history(after_id if readable else None)
        await self.send_json({"type": "history", "messages": history})
        await self._touch_presence(user)
        await self._broadcast_presence()

    async def disconnect(self, code: int) -> None:
        await self.leave_session()
        if hasattr(self, "group") and not self.revoked:
            await self._leave()

    async def _leave(self) -> None:
        await self.channel_layer.group_discard(self.group, self.channel_name)
        await database_sync_to_async(
            ChatPresence.objects.filter(channel_name=self.channel_name).delete
        )()
        await self._broadcast_presence()

    async def _still_allowed(self) -> bool:
        """Whether the person still belongs to the run (checked again once RECHECK_SECONDS have
        passed); if not, the socket leaves the group and its presence, and is closed (4403)."""
        if self.revoked:
            return False
        if time.monotonic() - self.checked_at < self.RECHECK_SECONDS:
            return True
        if not await self.session_holds():
            self.revoked = True
            await self._leave()
            await self.close(code=SIGNED_OUT)
            return False
        allowed = await database_sync_to_async(self._still_member)()
        self.checked_at = time.monotonic()
        if not allowed:
            self.revoked = True
            await self._leave()
            await self.close(code=NOT_ALLOWED)
        return allowed

    async def recheck_access(self) -> None:
        """The person's membership of this run changed: check it now (lms.sockets)."""
        self.checked_at = float("-inf")
        await self._still_allowed()

    @classmethod
    async def decode_json(cls, text_data: str) -> Any:
        """The frame's JSON, or UNREADABLE (not JSON, or nested too deep for the parser): the
        socket answers an error frame and stays open, where the exception used to close it."""
        try:
            return await super().decode_json(text_data)
        except (ValueError, RecursionError):
            return UNREADABLE

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        # A binary or empty frame is unreadable too (the parent raised ValueError on it).
        content = await self.decode_json(text_data) if text_data else UNREADABLE
        await self.receive_json(content, **kwargs)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not await self._still_allowed():
            return
        user = self.scope["user"]
        # Refusals read in the person's language (a socket has no Accept-Language of its own).
        with translation.override(getattr(user, "language", None) or settings.LANGUAGE_CODE):
            try:
                await self._handle(user, content)
            except FrameError as refused:
                await self.send_json(
                    {"type": "error", "error": str(refused.message), "field": refused.field}
                )

    async def _handle(self, user: Any, content: Any) -> None:
        """Do what the frame asks; FrameError names what is refused and why."""
        if content is UNREADABLE or not isinstance(content, dict):
            raise FrameError(None, _("Unreadable message: send a JSON object."))
        kind = content.get("type")
        if kind == "message":
            body = content.get("body")
            client_id = content.get("client_id", "")
            if not isinstance(body, str):
                raise FrameError("body", _("%(field)s: must be text.") % {"field": _("Message")})
            if not isinstance(client_id, str):
                raise FrameError(
                    "client_id", _("%(field)s: must be text.") % {"field": "client_id"}
                )
            try:
                message, created = await self._post(user, body, client_id)
            except (ValidationError, PermissionDenied) as exc:
                raise FrameError.of(exc) from None
            payload = _serialise(message)
            if created:
                await self.channel_layer.group_send(
                    self.group, {"type": "chat.message", "message": payload}
                )
            else:
                await self.send_json({"type": "message", "message": payload})
        elif kind == "hide":
            message_id = content.get("id")
            wrong_id = FrameError(
                "id", _("%(field)s: give the number of a message of this chat.") % {"field": "id"}
            )
            if type(message_id) is not int or not 0 < message_id <= MAX_ID:
                raise wrong_id
            try:
                await self._hide(user, message_id)
            except ChatMessage.DoesNotExist:
                raise wrong_id from None
            except (ValidationError, PermissionDenied) as exc:
                raise FrameError.of(exc) from None
            await self.channel_layer.group_send(
                self.group, {"type": "chat.hidden", "id": message_id}
            )
        elif kind == "ping":
            await self._touch_presence(user)
            await self.send_json({"type": "pong"})
        else:
            raise FrameError("type", _("%(field)s: use message, hide or ping.") % {"field": "type"})

    async def chat_message(self, event: dict[str, Any]) -> None:
        if await self._still_allowed():
            await self.send_json({"type": "message", "message": event["message"]})

    async def chat_hidden(self, event: dict[str, Any]) -> None:
        if await self._still_allowed():
            await self.send_json({"type": "hidden", "id": event["id"]})

    async def chat_presence(self, event: dict[str, Any]) -> None:
        if await self._still_allowed():
            await self.send_json({"type": "presence", "online": event["online"]})

    @database_sync_to_async
    def _may_join(self, user: Any) -> bool:
        run = CourseRun.objects.filter(pk=self.run_id).first()
        return run is not None and services.can_chat(user, run)

    def _still_member(self) -> bool:
        """_may_join for the person as the database has them now (the socket's user keeps the
        roles it had at connect); a suspended or deleted account is no member."""
        from django.contrib.auth import get_user_model

        user = get_user_model().objects.filter(pk=self.scope["user"].pk).first()
        run = CourseRun.objects.filter(pk=self.run_id).first()
        return (
            user is not None and user.is_active and run is not None and services.can_chat(user, run)
        )

    @database_sync_to_async
    def _history(self, after: int | None) -> list[dict[str, Any]]:
        return [
            _serialise(message)
            for message in selectors.chat_history(run_id=self.run_id, after_id=after)
        ]

    @database_sync_to_async
    def _post(self, user: Any, body: str, client_id: str) -> tuple[ChatMessage, bool]:
        run = CourseRun.objects.get(pk=self.run_id)
        message, created = services.post_chat_message(
            run=run, author=user, body=body, client_id=client_id
        )
        message.author = user
        return message, created

    @database_sync_to_async
    def _hide(self, user: Any, message_id: int) -> None:
        message = ChatMessage.objects.select_related("run").get(pk=message_id, run_id=self.run_id)
        services.hide_chat_message(message=message, moderator=user)

    @database_sync_to_async
    def _touch_presence(self, user: Any) -> None:
        ChatPresence.objects.update_or_create(
            channel_name=self.channel_name,
            defaults={"run_id": self.run_id, "user_id": user.pk, "last_seen": timezone.now()},
        )

    @database_sync_to_async
    def _online(self) -> list[str]:
        since = timezone.now() - PRESENCE_WINDOW
        names = (
            ChatPresence.objects.filter(run_id=self.run_id, last_seen__gte=since)
            .values_list("user__full_name", flat=True)
            .distinct()
        )
        return sorted(set(names))[:200]

    async def _broadcast_presence(self) -> None:
        online = await self._online()
        await self.channel_layer.group_send(self.group, {"type": "chat.presence", "online": online})
