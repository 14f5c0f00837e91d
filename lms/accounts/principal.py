"""The signed-in person as every page needs them, read from the cache instead of the database.

Each signed-in request needs the user row (session check, language, name in the header), the
role scope (navigation, permission checks) and the unread-notification count (header). Read from
PostgreSQL that is three queries on every page; here they are kept together in one cache entry
per person, so a page's authentication costs one cache read.

The entry is forgotten whenever one of its parts changes: the user row saved or deleted, a role
assignment saved or deleted, an institution moved (coordinated paths), a notification created or
read. Writes that bypass model signals (``QuerySet.update``, COPY, ``bulk_create``) call
``forget``/``forget_many`` themselves. Each forget runs twice, now and after the transaction
commits, so a reader that loaded the old row while the write was in flight cannot keep it; the
entry also expires after at most ``TTL`` seconds as a last bound.

Each entry lives a time drawn between ``TTL / 2`` and ``TTL``: people who signed in together (an
exam window, a class, the first minute after a cache restart) would otherwise all be read from
the database again at the same second every ``TTL`` seconds, a wave of three queries a person.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any

from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from lms.accounts.models import Institution, Notification, RoleAssignment, User

TTL = 120
UNREAD_ATTR = "_lms_unread"
# v2: the person's time zone. The near cache keeps this prefix (settings.CACHES near_prefixes).
_PREFIX = "accounts:principal:v2:"


# What the session read fetched for this request (lms.accounts.sessions): (person id, cached
# entry or None). Reset when a request starts and ends, so it never outlives its request.
_offered: ContextVar[tuple[int, Any] | None] = ContextVar("principal_offered", default=None)


def _key(user_id: int | str) -> str:
    return f"{_PREFIX}{user_id}"


def cache_key(user_id: int) -> str:
    """The cache key of a person's entry (the session store reads it with the session)."""
    return _key(user_id)


def offer(user_id: int | None, entry: Any) -> None:
    """The session store read this person's entry (None: not cached) in its own round trip."""
    _offered.set(None if user_id is None else (user_id, entry))


def load(user_id: Any) -> User | None:
    """The user with their scope and unread count attached, from the cache when it has them."""
    try:
        pk = int(user_id)
    except (TypeError, ValueError):
        return None
    offered = _offered.get()
    if offered is not None and offered[0] == pk:
        _offered.set(None)  # used once: a later load in the request reads the cache again
        user = offered[1]
    else:
        user = cache.get(_key(pk))
    if isinstance(user, User):
        return user
    user = User.objects.filter(pk=pk).first()
    if user is None:
        return None
    from lms.accounts.notifications import unread_count
    from lms.accounts.permissions import get_scope

    get_scope(user)  # computed once and kept on the instance, which the cache pickles
    setattr(user, UNREAD_ATTR, unread_count(user))
    cache.set(_key(pk), user, lifetime())
    return user


def lifetime() -> int:
    """How long a person's entry is kept: between TTL / 2 and TTL seconds, drawn per entry."""
    return random.randint(TTL // 2, TTL)  # noqa: S311 - spreading expiries, not a secret


def unread(user: User) -> int:
    """The unread count loaded with the person, else counted now."""
    value = getattr(user, UNREAD_ATTR, None)
    if value is None:
        from lms.accounts.notifications import unread_count

        value = unread_count(user)
        setattr(user, UNREAD_ATTR, value)
    return int(value)


def forget_many(user_ids: Iterable[int]) -> None:
    """Drop the cached entries of these people, now and once the transaction commits."""
    keys = [_key(pk) for pk in {int(pk) for pk in user_ids if pk is not None}]
    if not keys:
        return

    def drop() -> None:
        for start in range(0, len(keys), 1000):
            cache.delete_many(keys[start : start + 1000])

    drop()
    transaction.on_commit(drop)


def forget(user_id: int | None) -> None:
    if user_id is not None:
        forget_many([user_id])


def _user_changed(sender: Any, instance: User, **kwargs: Any) -> None:
    forget(instance.pk)


def _role_changed(sender: Any, instance: RoleAssignment, **kwargs: Any) -> None:
    forget(instance.user_id)


def _notification_changed(sender: Any, instance: Notification, **kwargs: Any) -> None:
    forget(instance.user_id)


def _institution_changed(sender: Any, instance: Institution, **kwargs: Any) -> None:
    # A coordinator's scope holds the paths of the institutions they coordinate.
    if instance.path:
        forget_many(
            RoleAssignment.objects.filter(institution__path__startswith=instance.path).values_list(
                "user_id", flat=True
            )
        )


def _reset_offer(**kwargs: Any) -> None:
    _offered.set(None)


def connect() -> None:
    """Connect the receivers (called from AccountsConfig.ready())."""
    request_started.connect(_reset_offer, dispatch_uid="principal.reset_started")
    request_finished.connect(_reset_offer, dispatch_uid="principal.reset_finished")
    for name, signal in (("saved", post_save), ("deleted", post_delete)):
        signal.connect(_user_changed, sender=User, dispatch_uid=f"principal.user_{name}")
        signal.connect(_role_changed, sender=RoleAssignment, dispatch_uid=f"principal.role_{name}")
        signal.connect(
            _notification_changed, sender=Notification, dispatch_uid=f"principal.notice_{name}"
        )
    post_save.connect(_institution_changed, sender=Institution, dispatch_uid="principal.inst")
