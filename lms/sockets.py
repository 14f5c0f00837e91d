"""Refusing a WebSocket so that the page's script hears why; closing the sockets of a session
when its person signs out or it expires, and every socket of a person whose access changed."""

from __future__ import annotations

import hashlib
import logging
from functools import partial
from typing import Any

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.db import transaction

SIGNED_OUT = 4401
NOT_ALLOWED = 4403
# Closed so that the page connects again and is checked again: the pages' scripts reconnect on
# any code but the two above, and a socket of a session that no longer holds is then refused.
RECHECK = 4000

logger = logging.getLogger(__name__)


async def refuse(consumer: AsyncWebsocketConsumer, code: int) -> None:
    """Refuse a connection with `code` (SIGNED_OUT, NOT_ALLOWED), which the browser's close
    event then carries: the pages' scripts stop reconnecting on these two codes.

    A consumer that closes before accepting is answered by Daphne with an HTTP 403 during the
    handshake, and the browser sees close code 1006 (an abnormal closure) instead of the code:
    the chat, the dashboards' live counters and the notifications kept reconnecting every few
    seconds, for ever, once their person was signed out or lost their access. Accepted first
    and closed at once, the socket carries nothing else."""
    await consumer.accept()
    await consumer.close(code=code)


def session_group(session_key: str) -> str:
    """The channel-layer group of the sockets opened in one session. The key is hashed: group
    names travel to Redis, and a session key is a credential."""
    return "session." + hashlib.sha256(session_key.encode()).hexdigest()[:40]


def person_group(user_id: int) -> str:
    """The channel-layer group of every socket a person has open, in any session."""
    return f"person.{int(user_id)}"


class SessionBound:
    """For a consumer whose socket belongs to its person's session. `join_session` (in
    `connect`, once the socket is allowed) puts it in the session's group and in its person's:

    - signing out of that session (`end_session`) closes it with SIGNED_OUT;
    - a change to the person that may end their sessions or change what they may see (a new
      password, by change or reset; a suspension; the account deleted; a role given or taken
      away: `recheck_person`) closes every socket of theirs with RECHECK. The page reconnects at
      once, and the handshake checks the session and the access again: the session that
      changed the password holds (Django keeps it, under a new key) and gets its socket back;
      the person's other sessions no longer hold and are refused with SIGNED_OUT; a dashboard
      whose viewer lost the role is refused with NOT_ALLOWED;
    - a change to one membership (`recheck_member`, sent to the group of what the person is a
      member of, a run's chat say) makes the person's sockets in that group check it at once
      (`recheck_access`, which a consumer with a membership check overrides);
    - `session_holds`, for a consumer's periodic re-check, tells whether the session still
      names the person with their current password: an expired session (or one ended while
      the channel layer was down) is closed with SIGNED_OUT before anything more is delivered.

    Without it an open socket kept delivering to a browser whose person had signed out (the
    chat, the dashboards' live figures, notifications), or whose session a new password had
    ended, until the connection dropped or a re-check refused it.

    The consumer's own `disconnect` runs after the close, as for any close, and leaves its
    other groups; `leave_session` is for that `disconnect`."""

    session_group_name: str = ""
    person_group_name: str = ""
    scope: dict[str, Any]
    channel_layer: Any
    channel_name: str

    async def join_session(self) -> None:
        if self.channel_layer is None:
            return
        session = self.scope.get("session")
        key = getattr(session, "session_key", None)
        if key:
            self.session_group_name = session_group(key)
            await self.channel_layer.group_add(self.session_group_name, self.channel_name)
        user = self.scope.get("user")
        if user is not None and user.is_authenticated:
            self.person_group_name = person_group(user.pk)
            await self.channel_layer.group_add(self.person_group_name, self.channel_name)

    async def leave_session(self) -> None:
        for name in (self.session_group_name, self.person_group_name):
            if name:
                await self.channel_layer.group_discard(name, self.channel_name)
        self.session_group_name = self.person_group_name = ""

    async def session_ended(self, event: dict[str, Any]) -> None:
        """The session signed out: close (its `disconnect` leaves the groups)."""
        await self.close(code=SIGNED_OUT)  # type: ignore[attr-defined]

    async def person_changed(self, event: dict[str, Any]) -> None:
        """The person's password, status or roles changed: close, for the page to be checked
        again."""
        await self.close(code=RECHECK)  # type: ignore[attr-defined]

    async def member_changed(self, event: dict[str, Any]) -> None:
        """A membership of someone in this socket's group changed: if it is this socket's
        person, check their access now."""
        user = self.scope.get("user")
        if user is not None and user.is_authenticated and event.get("user_id") == user.pk:
            await self.recheck_access()

    async def recheck_access(self) -> None:
        """Check the person's access now (consumers with a membership check override this; by
        default the socket is closed with RECHECK, for the handshake to check it again)."""
        await self.close(code=RECHECK)  # type: ignore[attr-defined]

    async def session_holds(self) -> bool:
        """Whether the session this socket was opened in still names its person, with their
        current password, and the account is active (one cache read of the session, else one
        query, and one of the person's cached entry). A socket whose scope carries no session
        at all (a consumer driven without the session middleware, as some tests do) has none
        to expire: True."""
        if "session" not in self.scope:
            return True
        key = getattr(self.scope["session"], "session_key", None)
        user = self.scope.get("user")
        if not key or user is None or not user.is_authenticated:
            return False
        return bool(await database_sync_to_async(_session_names)(key, user.pk))


def _session_names(session_key: str, user_id: int) -> bool:
    """SessionBound.session_holds, read anew from the session store: an expired session loads
    empty (Django's cached_db drops it from the cache when it expires and never reads an
    expired row); the person comes from the session's own authentication backend (which
    refuses an account that may not sign in); a new password changes the hash Django keeps in
    the session, and a hash made under a key being rotated out still holds. The checks of
    django.contrib.auth.get_user, without its writes: on a fallback key it gives the session a
    new key, which would orphan the browser's cookie when done from a socket."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, load_backend
    from django.utils.crypto import constant_time_compare

    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key)
    backend = store.get(BACKEND_SESSION_KEY)
    if store.get(SESSION_KEY) != str(user_id) or backend not in settings.AUTHENTICATION_BACKENDS:
        return False
    person = load_backend(backend).get_user(user_id)
    kept = store.get(HASH_SESSION_KEY) or ""
    if person is None or not kept:
        return False
    hashes = [person.get_session_auth_hash(), *person.get_session_auth_fallback_hash()]
    return any(constant_time_compare(kept, value) for value in hashes)


def _send(group: str, message: dict[str, Any], failure: str) -> None:
    """Send to a group; a channel layer that cannot be reached stops nothing (the sockets then
    close at their next re-check or drop, as before), and the failure is logged."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:  # noqa: BLE001 - Redis down must not stop a sign-out or a password change
        logger.warning(failure, exc_info=True)


def end_session(session_key: str | None) -> None:
    """Close every socket opened in the session `session_key` (called when it signs out)."""
    if session_key:
        _send(
            session_group(session_key),
            {"type": "session.ended"},
            "could not close the sockets of a session that signed out",
        )


def recheck_person(user_id: int) -> None:
    """Close every socket of the person, for each to reconnect and be checked again."""
    _send(
        person_group(user_id),
        {"type": "person.changed"},
        "could not close the sockets of a person whose access changed",
    )


def recheck_member(group: str, user_id: int) -> None:
    """Make the person's sockets in `group` check their access now (a membership changed)."""
    _send(
        group,
        {"type": "member.changed", "user_id": int(user_id)},
        "could not ask the sockets of a person whose membership changed to check it",
    )


def _on_sign_out(sender: Any, request: Any = None, **kwargs: Any) -> None:
    session = getattr(request, "session", None)
    end_session(getattr(session, "session_key", None))


def _on_person_saved(sender: Any, instance: Any, created: bool = False, **kwargs: Any) -> None:
    # A password set in this save (AbstractBaseUser keeps it in `_password` until the save
    # ends; a sign-in's rehash clears it first), or a suspended account: its sockets are
    # checked again once the save commits.
    if created:
        return
    suspended = instance.status == instance.Status.SUSPENDED
    if getattr(instance, "_password", None) is not None or suspended:
        transaction.on_commit(partial(recheck_person, instance.pk))


def _on_person_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    transaction.on_commit(partial(recheck_person, instance.pk))


def _on_role_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    # After lms.accounts.principal's receiver, whose forget runs on commit before this: the
    # reconnecting page reads the person's new roles, not the cached ones.
    transaction.on_commit(partial(recheck_person, instance.user_id))


def _on_institution_saved(sender: Any, instance: Any, **kwargs: Any) -> None:
    # A move changes which coordinators' dashboards hear about the unit's learners: those above
    # its old place only (who lose it), above its new place only (who gain it), and those of the
    # unit and its own units (whose lens holds it under its new path). Their sockets reconnect
    # and read the lens anew, instead of waiting for the dashboards' periodic re-check.
    # Coordinators only: no other role's access follows the institutions' tree (an officer's
    # own pages and chats do not change with a move).
    old_path = getattr(instance, "moved_from", None)
    if not old_path:
        return
    from django.db.models import Q

    from lms.accounts.models import Role, RoleAssignment

    # A path names the institutions above and the unit itself last ("1/5/9/"), in both paths:
    # the difference leaves those above one place only. Above both (a common ancestor) nothing
    # changes: its subtree holds the unit before and after.
    above = {int(part) for part in old_path.split("/") if part} ^ {
        int(part) for part in instance.path.split("/") if part
    }
    people = set(
        RoleAssignment.objects.filter(
            Q(institution_id__in=above) | Q(institution__path__startswith=instance.path),
            role=Role.COORDINATOR,
        ).values_list("user_id", flat=True)
    )
    for user_id in people:
        transaction.on_commit(partial(recheck_person, user_id))


def connect() -> None:
    """Close a session's sockets when it signs out, and a person's when their password, status
    or roles change, or an institution they hold a role in moves, or one above it (lms.accounts's
    ready, after lms.accounts.principal's)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.signals import user_logged_out
    from django.db.models.signals import post_delete, post_save

    from lms.accounts.models import Institution, RoleAssignment

    user_logged_out.connect(_on_sign_out, dispatch_uid="lms.sockets.end_session")
    person = get_user_model()
    post_save.connect(_on_person_saved, sender=person, dispatch_uid="lms.sockets.person_saved")
    post_delete.connect(
        _on_person_deleted, sender=person, dispatch_uid="lms.sockets.person_deleted"
    )
    for name, signal in (("saved", post_save), ("deleted", post_delete)):
        signal.connect(
            _on_role_changed, sender=RoleAssignment, dispatch_uid=f"lms.sockets.role_{name}"
        )
    post_save.connect(
        _on_institution_saved, sender=Institution, dispatch_uid="lms.sockets.institution_moved"
    )
