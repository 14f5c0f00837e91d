"""Background work of the network: the daily email digest of followed discussions."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from community.models import Post, Subscription
from community.permissions import can_read_forum
from lms.accounts import zones


@shared_task
def send_forum_digests(batch_size: int = 500) -> int:
    """Email each follower the posts added since their last digest; returns emails sent."""
    now = timezone.now()
    sent = 0
    subscriptions = (
        Subscription.objects.select_related("user", "thread__forum", "forum")
        .filter(user__status="active")
        .order_by("user_id")
    )
    by_user: dict[int, list[Subscription]] = defaultdict(list)
    for subscription in subscriptions.iterator(chunk_size=batch_size):
        by_user[subscription.user_id].append(subscription)
    for subscriptions_of_user in by_user.values():
        user = subscriptions_of_user[0].user
        condition = Q()
        for subscription in subscriptions_of_user:
            if subscription.thread_id:
                condition |= Q(
                    thread_id=subscription.thread_id, created_at__gt=subscription.last_digest_at
                )
            else:
                condition |= Q(
                    thread__forum_id=subscription.forum_id,
                    created_at__gt=subscription.last_digest_at,
                )
        posts: list[Any] = [
            post
            # up to `now` only: a post written while the digest runs is in the next one, once
            for post in Post.objects.filter(
                condition, created_at__lte=now, is_hidden=False, thread__is_hidden=False
            )
            .exclude(author_id=user.pk)
            .select_related("thread__forum", "author")
            .order_by("thread_id", "created_at")[:200]
            if can_read_forum(user, post.thread.forum)
        ]
        if posts:
            with translation.override(user.language), zones.override_for(user):
                body = render_to_string(
                    "community/digest_email.txt",
                    {"user": user, "posts": posts, "site": settings.SITE_URL},
                )
                send_mail(_("New posts in the discussions you follow"), body, None, [user.email])
            sent += 1
        Subscription.objects.filter(pk__in=[s.pk for s in subscriptions_of_user]).update(
            last_digest_at=now
        )
    return sent
