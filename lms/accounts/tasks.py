"""Celery tasks of the accounts app: notification, invitation and password reset emails."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import get_connection, send_mass_mail
from django.utils import timezone

from lms.accounts.models import Notification, User


@shared_task(acks_late=True, ignore_result=True)
def send_notification_emails(notification_ids: list[int]) -> int:
    """Email each stored notification to its person; returns how many were sent."""
    messages = []
    for notification in Notification.objects.filter(pk__in=notification_ids).select_related("user"):
        body = notification.body
        if notification.url:
            link = notification.url
            if link.startswith("/"):
                link = f"{settings.SITE_URL}{link}"
            body = f"{body}\n\n{link}"
        messages.append(
            (notification.subject, body, settings.DEFAULT_FROM_EMAIL, [notification.user.email])
        )
    if not messages:
        return 0
    return send_mass_mail(messages, fail_silently=False, connection=get_connection())


@shared_task(acks_late=True, ignore_result=True)
def send_invitations(user_ids: list[int]) -> int:
    """Email an activation link to each invited person who has not activated yet."""
    from lms.accounts.services import send_invitation_email

    sent = 0
    for user in User.objects.filter(pk__in=user_ids, status=User.Status.INVITED).iterator(
        chunk_size=500
    ):
        send_invitation_email(user=user)
        sent += 1
    User.objects.filter(pk__in=user_ids, status=User.Status.INVITED).update(
        invited_at=timezone.now()
    )
    return sent


@shared_task(acks_late=True, ignore_result=True)
def send_password_resets(user_ids: list[int], domain: str, protocol: str) -> int:
    """Email a reset link to each of the people who may reset their password, and a new
    invitation to each who is still invited; returns how many reset links were sent."""
    from lms.accounts.services import password_reset_users, send_password_reset_email

    send_invitations(user_ids)
    sent = 0
    for user in password_reset_users(user_ids):
        send_password_reset_email(user=user, domain=domain, protocol=protocol)
        sent += 1
    return sent
