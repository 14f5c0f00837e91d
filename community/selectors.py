"""Reads of the network, each scoped to what the person may see."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db.models import F, Q, QuerySet

from community.models import SEARCH_CONFIGS, ChatMessage, Forum, LibraryItem, Post, Thread
from community.permissions import MEMBER_STATUSES
from courses.models import Enrollment, RunInstructor
from lms.accounts.models import Institution
from lms.accounts.permissions import get_scope


def visible_forums(*, user: Any) -> QuerySet[Forum]:
    """Topic forums, the person's institution forum and the forums of their runs."""
    scope = get_scope(user)
    forums = Forum.objects.select_related("run__course", "institution")
    if scope.is_dps:
        return forums.order_by("kind", "slug")
    run_ids = list(
        Enrollment.objects.filter(user_id=user.pk, status__in=MEMBER_STATUSES).values_list(
            "run_id", flat=True
        )[:500]
    ) + list(RunInstructor.objects.filter(user_id=user.pk).values_list("run_id", flat=True)[:500])
    condition = Q(kind=Forum.Kind.TOPIC) | Q(run_id__in=run_ids)
    institution_ids = [pk for pk in (user.institution_id, user.unit_id) if pk]
    condition |= Q(institution_id__in=institution_ids)
    for path in scope.coordinated_paths:
        condition |= Q(institution__path__startswith=path)
    return forums.filter(condition).order_by("kind", "slug")


def forum_threads(*, forum: Forum, include_hidden: bool = False) -> QuerySet[Thread]:
    threads = Thread.objects.filter(forum=forum).select_related("author")
    if not include_hidden:
        threads = threads.filter(is_hidden=False)
    return threads.order_by("-last_post_at")


def thread_posts(*, thread: Thread, include_hidden: bool = False) -> QuerySet[Post]:
    posts = (
        Post.objects.filter(thread=thread).select_related("author").prefetch_related("attachments")
    )
    if not include_hidden:
        posts = posts.filter(is_hidden=False)
    return posts.order_by("created_at", "id")


def search_threads(*, user: Any, query: str) -> QuerySet[Thread]:
    forums = visible_forums(user=user).values("pk")
    threads = Thread.objects.filter(forum__in=forums, is_hidden=False).select_related(
        "forum", "author"
    )
    if settings.IS_POSTGRES:
        search = SearchQuery(query, config="simple", search_type="websearch")
        return (
            threads.filter(search_vector=search)
            .annotate(rank=SearchRank(F("search_vector"), search))
            .order_by("-rank", "-last_post_at")
        )
    return threads.filter(title__icontains=query).order_by("-last_post_at")


def chat_history(*, run_id: int, after_id: int | None = None, limit: int = 50) -> list[ChatMessage]:
    """Messages after `after_id` (a reconnecting client) or the last `limit` (a new one)."""
    messages = ChatMessage.objects.filter(run_id=run_id, is_hidden=False).select_related("author")
    if after_id is not None:
        return list(messages.filter(id__gt=after_id).order_by("id")[:500])
    return list(reversed(messages.order_by("-id")[:limit]))


def library_items(
    *,
    user: Any,
    query: str = "",
    kind: str = "",
    theme: str = "",
    member_state: str = "",
    language: str = "",
) -> QuerySet[LibraryItem]:
    """Published items (and, for editors, their drafts) filtered and searched.

    Each item is matched with its own language's text search configuration, so a Spanish word
    finds a Spanish item in any of its inflected forms.
    """
    items = LibraryItem.objects.filter(status=LibraryItem.Status.PUBLISHED)
    if kind:
        items = items.filter(kind=kind)
    if language:
        items = items.filter(language=language)
    if theme:
        items = items.filter(themes__slug=theme)
    if member_state:
        items = items.filter(member_states__code=member_state)
    query = query.strip()
    if query:
        if settings.IS_POSTGRES:
            condition = Q()
            for code, config in SEARCH_CONFIGS.items():
                condition |= Q(
                    language=code,
                    search_vector=SearchQuery(query, config=config, search_type="websearch"),
                )
            items = items.filter(condition)
        else:
            items = items.filter(
                Q(title__icontains=query) | Q(summary__icontains=query) | Q(body__icontains=query)
            )
    return items.prefetch_related("themes").order_by("-published_at", "-pk").distinct()


def editorial_queue(*, user: Any) -> QuerySet[LibraryItem]:
    scope = get_scope(user)
    items = LibraryItem.objects.exclude(status=LibraryItem.Status.PUBLISHED).select_related(
        "author"
    )
    if not scope.is_dps:
        items = items.filter(author_id=user.pk)
    return items.order_by("status", "-created_at")


def directory(*, member_state: str = "", query: str = "") -> QuerySet[Institution]:
    institutions = Institution.objects.filter(parent__isnull=True, is_active=True).select_related(
        "member_state"
    )
    if member_state:
        institutions = institutions.filter(member_state__code=member_state)
    if query:
        institutions = institutions.filter(
            Q(name__icontains=query) | Q(short_name__icontains=query)
        )
    return institutions.order_by("member_state__name_en", "name")
