"""The platform notification service: one call stores, emails and pushes a message to people.

Other apps call ``notify()`` for every step that waits on someone. Subject and body are lazy
translations with ``%(name)s`` parameters, rendered in each recipient's own language for the
email and kept as their source, so the site shows them in whatever language the person reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.utils import timezone, translation
from django.utils.functional import Promise

from lms.accounts import message_source, zones
from lms.accounts.models import Notification, User

EMAIL_BATCH = 500


def user_group(user_id: int) -> str:
    """The channel-layer group of one person's open notification sockets."""
    return f"notifications.user.{user_id}"


def notify(
    *,
    recipients: Iterable[User],
    subject: Promise | str,
    body: Promise | str,
    params: dict[str, Any] | None = None,
    url: str = "",
) -> None:
    """Notify each recipient in their language: a stored notification, an email and a live push.

    Runs inside the caller's transaction: the rows are written now, the emails and the live
    pushes go out only once the transaction commits (and never if it rolls back).
    """
    now = timezone.now()
    message = message_source.source(subject, body, params)
    notifications: list[Notification] = []
    for user in recipients:
        with translation.override(user.language), zones.override_for(user):
            notifications.append(
                Notification(
                    user=user,
                    subject=message_source.render_source(message, "subject", str(subject))[:255],
                    body=message_source.render_source(message, "body", str(body)),
                    url=url,
                    message=message,
                    created_at=now,
                )
            )
    if not notifications:
        return
    created = Notification.objects.bulk_create(notifications, batch_size=1000)
    from lms.accounts.principal import forget_many

    forget_many(n.user_id for n in created)  # their unread counts changed
    # PostgreSQL and SQLite (3.35+) both return the new ids from a bulk insert.
    ids = [int(notification.pk) for notification in created]
    payloads = [
        {
            "user_id": n.user_id,
            "id": n.pk,
            "subject": n.subject,
            "body": n.body,
            "url": n.url,
            "created_at": n.created_at.isoformat(),
        }
        for n in created
    ]

    def after_commit() -> None:
        from lms.accounts.tasks import send_notification_emails

        # One task per 500 emails: a notice to a whole cohort spreads over the workers.
        for start in range(0, len(ids), EMAIL_BATCH):
            send_notification_emails.delay(ids[start : start + EMAIL_BATCH])
        push_live(payloads)

    transaction.on_commit(after_commit)


def push_live(payloads: list[dict[str, Any]]) -> None:
    """Send each notification to its person's WebSocket group; a person offline misses nothing,
    since the notification is stored."""
    layer = get_channel_layer()
    if layer is None:
        return
    send = async_to_sync(layer.group_send)
    for payload in payloads:
        send(
            user_group(int(payload["user_id"])),
            {"type": "notification.message", "notification": payload},
        )


def unread_count(user: User) -> int:
    """How many notifications the person has not read (index on user, read_at)."""
    return Notification.objects.filter(user=user, read_at__isnull=True).count()
