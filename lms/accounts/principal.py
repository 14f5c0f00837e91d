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
entry also expires after ``TTL`` seconds as a last bound.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from lms.accounts.models import Institution, Notification, RoleAssignment, User

TTL = 120
UNREAD_ATTR = "_lms_unread"
_PREFIX = "accounts:principal:v1:"


def _key(user_id: int | str) -> str:
    return f"{_PREFIX}{user_id}"


def load(user_id: Any) -> User | None:
    """The user with their scope and unread count attached, from the cache when it has them."""
    try:
        pk = int(user_id)
    except (TypeError, ValueError):
        return None
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
    cache.set(_key(pk), user, TTL)
    return user


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


def connect() -> None:
    """Connect the receivers (called from AccountsConfig.ready())."""
    for name, signal in (("saved", post_save), ("deleted", post_delete)):
        signal.connect(_user_changed, sender=User, dispatch_uid=f"principal.user_{name}")
        signal.connect(_role_changed, sender=RoleAssignment, dispatch_uid=f"principal.role_{name}")
        signal.connect(
            _notification_changed, sender=Notification, dispatch_uid=f"principal.notice_{name}"
        )
    post_save.connect(_institution_changed, sender=Institution, dispatch_uid="principal.inst")
