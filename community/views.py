"""Pages of the network: forums, chat, library and directory. Views parse, call one service or
selector, and render."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from community import permissions, selectors, services
from community.forms import BanForm, ChatForm, LibraryItemForm, ReplyForm, ReportForm, ThreadForm
from community.models import (
    Forum,
    LibraryItem,
    ModerationAction,
    Post,
    QualityCertification,
    Theme,
    Thread,
)
from courses.models import CourseRun
from lms.accounts.models import Institution, MemberState, User


def _me(request: HttpRequest) -> User:
    """The signed-in person (views below are all login_required)."""
    return cast(User, request.user)


def _page(request: HttpRequest, items: Any, per_page: int = 25) -> Any:
    """The requested page; "last" (where a new reply is shown, _post_url) is the last one."""
    paginator = Paginator(items, per_page)
    number = request.GET.get("page")
    return paginator.get_page(paginator.num_pages if number == "last" else number)


def _errors_to_form(form: Any, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The network's front page: the forums the person belongs to."""
    page = _page(request, selectors.visible_forums(user=_me(request)))
    return render(request, "community/home.html", {"page_obj": page})


def _forum_or_403(request: HttpRequest, slug: str) -> Forum:
    forum = get_object_or_404(Forum.objects.select_related("run__course", "institution"), slug=slug)
    if not permissions.can_read_forum(request.user, forum):
        raise PermissionDenied
    return forum


@login_required
def forum_detail(request: HttpRequest, slug: str) -> HttpResponse:
    forum = _forum_or_403(request, slug)
    moderator = permissions.can_moderate_forum(request.user, forum)
    form = ThreadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        files = [form.cleaned_data["attachment"]] if form.cleaned_data["attachment"] else []
        try:
            thread = services.start_thread(
                forum=forum,
                author=_me(request),
                title=form.cleaned_data["title"],
                text=form.cleaned_data["text"],
                files=files,
            )
        except ValidationError as exc:
            _errors_to_form(form, exc)
        except services.AlreadyPosted as same:
            messages.info(request, _("This was already posted."))
            return redirect("community:thread", pk=same.existing.pk)
        else:
            return redirect("community:thread", pk=thread.pk)
    page = _page(request, selectors.forum_threads(forum=forum, include_hidden=moderator))
    return render(
        request,
        "community/forum.html",
        {
            "forum": forum,
            "page_obj": page,
            "form": form,
            "moderator": moderator,
            "can_post": permissions.can_post_in_forum(request.user, forum),
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
def run_forum(request: HttpRequest, run_id: int) -> HttpResponse:
    run = get_object_or_404(CourseRun.objects.select_related("course"), pk=run_id)
    forum = services.forum_for_run(run=run)
    if not permissions.can_read_forum(request.user, forum):
        raise PermissionDenied
    return redirect("community:forum", slug=forum.slug)


@login_required
def institution_forum(request: HttpRequest, institution_id: int) -> HttpResponse:
    institution = get_object_or_404(Institution, pk=institution_id)
    forum = services.forum_for_institution(institution=institution)
    if not permissions.can_read_forum(request.user, forum):
        raise PermissionDenied
    return redirect("community:forum", slug=forum.slug)


def _thread_or_403(request: HttpRequest, pk: int) -> Thread:
    thread = get_object_or_404(Thread.objects.select_related("forum"), pk=pk)
    if not permissions.can_read_forum(request.user, thread.forum):
        raise PermissionDenied
    if thread.is_hidden and not permissions.can_moderate_forum(request.user, thread.forum):
        raise PermissionDenied
    return thread


def _post_url(post: Post) -> str:
    return reverse("community:thread", args=[post.thread_id]) + f"?page=last#post-{post.pk}"


@login_required
def thread_detail(request: HttpRequest, pk: int) -> HttpResponse:
    thread = _thread_or_403(request, pk)
    form = ReplyForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        files = [form.cleaned_data["attachment"]] if form.cleaned_data["attachment"] else []
        try:
            post = services.reply(
                thread=thread, author=_me(request), text=form.cleaned_data["text"], files=files
            )
        except ValidationError as exc:
            _errors_to_form(form, exc)
        except services.AlreadyPosted as same:
            messages.info(request, _("This was already posted."))
            return HttpResponseRedirect(_post_url(same.existing))
        else:
            return HttpResponseRedirect(_post_url(post))
    return _thread_page(request, thread, form=form, status=400 if request.method == "POST" else 200)


def _thread_page(
    request: HttpRequest,
    thread: Thread,
    *,
    status: int = 200,
    form: ReplyForm | None = None,
    refused: Post | None = None,
    report_form: ReportForm | None = None,
    ban_form: BanForm | None = None,
    errors: list[str] | None = None,
) -> HttpResponse:
    """The thread's page; with `refused`, at the page of that post, whose report or ban form
    (`report_form`, `ban_form`) is shown open with its errors; `errors` above the posts."""
    moderator = permissions.can_moderate_forum(request.user, thread.forum)
    posts = selectors.thread_posts(thread=thread, include_hidden=moderator)
    per_page = 30
    if refused is not None:
        before = posts.filter(
            Q(created_at__lt=refused.created_at)
            | Q(created_at=refused.created_at, pk__lt=refused.pk)
        ).count()
        page = Paginator(posts, per_page).get_page(before // per_page + 1)
    else:
        page = _page(request, posts, per_page=per_page)
    subscribed = thread.subscriptions.filter(user=_me(request)).exists()
    if errors is None:
        errors = [
            str(error)
            for bound in (report_form, ban_form)
            if bound is not None and bound.is_bound
            for field_errors in bound.errors.values()
            for error in field_errors
        ]
    return render(
        request,
        "community/thread.html",
        {
            "thread": thread,
            "forum": thread.forum,
            "page_obj": page,
            "form": form if form is not None else ReplyForm(),
            "moderator": moderator,
            "subscribed": subscribed,
            "report_form": report_form if report_form is not None else ReportForm(),
            "ban_form": ban_form if ban_form is not None else BanForm(),
            "report_refused": refused.pk if refused and report_form is not None else None,
            "ban_refused": refused.pk if refused and ban_form is not None else None,
            "page_errors": errors,
            "can_post": permissions.can_post_in_forum(request.user, thread.forum)
            and not thread.is_locked,
        },
        status=status,
    )


@login_required
@require_POST
def toggle_subscription(request: HttpRequest, pk: int) -> HttpResponse:
    thread = _thread_or_403(request, pk)
    if request.POST.get("subscribe") == "1":
        services.subscribe(user=_me(request), thread=thread)
        messages.success(request, _("You will receive new replies in your email digest."))
    else:
        services.unsubscribe(user=_me(request), thread=thread)
        messages.success(request, _("You no longer follow this thread."))
    return redirect("community:thread", pk=thread.pk)


@login_required
@require_POST
def report_post(request: HttpRequest, pk: int) -> HttpResponse:
    post = get_object_or_404(Post.objects.select_related("thread__forum"), pk=pk)
    form = ReportForm(request.POST)
    if form.is_valid():
        try:
            services.report_post(
                post=post, reporter=_me(request), reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            _errors_to_form(form, exc)
        except services.AlreadyPosted:
            messages.info(request, _("You have already reported this message."))
            return redirect("community:thread", pk=post.thread_id)
        else:
            messages.success(request, _("Thank you: the moderators will look at this message."))
            return redirect("community:thread", pk=post.thread_id)
    thread = _thread_or_403(request, post.thread_id)
    return _thread_page(request, thread, status=400, refused=post, report_form=form)


@login_required
@require_POST
def moderate_post(request: HttpRequest, pk: int) -> HttpResponse:
    post = get_object_or_404(Post.objects.select_related("thread__forum", "author"), pk=pk)
    if not permissions.can_moderate_forum(request.user, post.thread.forum):
        raise PermissionDenied
    action = request.POST.get("action", "")
    reason = request.POST.get("reason", "")
    if action in {"hide", "show"}:
        services.set_post_hidden(
            post=post, moderator=_me(request), hidden=action == "hide", reason=reason
        )
    elif action == "ban":
        form = BanForm(request.POST)
        if form.is_valid():
            days = form.cleaned_data["days"]
            try:
                services.ban_member(
                    forum=post.thread.forum,
                    user=post.author,
                    moderator=_me(request),
                    reason=form.cleaned_data["reason"],
                    until=timezone.now() + timedelta(days=days) if days else None,
                )
            except ValidationError as exc:
                _errors_to_form(form, exc)
        if form.errors:
            thread = _thread_or_403(request, post.thread_id)
            return _thread_page(request, thread, status=400, refused=post, ban_form=form)
    else:
        thread = _thread_or_403(request, post.thread_id)
        return _thread_page(request, thread, status=400, errors=[_("Unknown moderation action.")])
    messages.success(request, _("Done. The step is recorded in the moderation log."))
    return redirect("community:thread", pk=post.thread_id)


@login_required
@require_POST
def moderate_thread(request: HttpRequest, pk: int) -> HttpResponse:
    thread = get_object_or_404(Thread.objects.select_related("forum"), pk=pk)
    action = request.POST.get("action", "")
    reason = request.POST.get("reason", "")
    if action in {"lock", "unlock"}:
        services.set_thread_locked(
            thread=thread, moderator=_me(request), locked=action == "lock", reason=reason
        )
    elif action == "hide":
        services.hide_thread(thread=thread, moderator=_me(request), reason=reason)
        return redirect("community:forum", slug=thread.forum.slug)
    else:
        if not permissions.can_moderate_forum(request.user, thread.forum):
            raise PermissionDenied
        thread = _thread_or_403(request, thread.pk)
        return _thread_page(request, thread, status=400, errors=[_("Unknown moderation action.")])
    return redirect("community:thread", pk=thread.pk)


@login_required
def moderation_log(request: HttpRequest, slug: str) -> HttpResponse:
    forum = _forum_or_403(request, slug)
    if not permissions.can_moderate_forum(request.user, forum):
        raise PermissionDenied
    actions = (
        ModerationAction.objects.filter(forum=forum)
        .select_related("actor", "target_user")
        .order_by("-at")
    )
    return render(
        request,
        "community/moderation_log.html",
        {"forum": forum, "page_obj": _page(request, actions, 50)},
    )


@login_required
def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    results = (
        selectors.search_threads(user=_me(request), query=query) if query else Thread.objects.none()
    )
    return render(
        request,
        "community/search.html",
        {
            "query": query,
            "page_obj": _page(request, results),
            "query_string": urlencode({"q": query}),
        },
    )


# Chat ----------------------------------------------------------------------------------------


@login_required
def chat(request: HttpRequest, run_id: int) -> HttpResponse:
    """The cohort chat: live over WebSocket with JavaScript, a plain form without it."""
    run = get_object_or_404(CourseRun.objects.select_related("course"), pk=run_id)
    if not services.can_chat(_me(request), run):
        raise PermissionDenied
    form = ChatForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                _message, created = services.post_chat_message(
                    run=run, author=_me(request), body=form.cleaned_data["body"]
                )
            except ValidationError as exc:
                _errors_to_form(form, exc)
                status = 400
            else:
                if not created:
                    messages.info(request, _("This was already posted."))
                return redirect("community:chat", run_id=run.pk)
        else:
            status = 400
    forum = services.forum_for_run(run=run)
    return render(
        request,
        "community/chat.html",
        {
            "run": run,
            "form": form,
            "history": selectors.chat_history(run_id=run.pk),
            "moderator": permissions.can_moderate_forum(request.user, forum),
            "forum": forum,
        },
        status=status,
    )


# Library -------------------------------------------------------------------------------------


@login_required
def library(request: HttpRequest) -> HttpResponse:
    params = {
        name: request.GET.get(name, "").strip()
        for name in ("q", "kind", "theme", "member_state", "language")
    }
    items = selectors.library_items(
        user=_me(request),
        query=params["q"],
        kind=params["kind"],
        theme=params["theme"],
        member_state=params["member_state"],
        language=params["language"],
    )
    query_string = urlencode({key: value for key, value in params.items() if value})
    return render(
        request,
        "community/library.html",
        {
            "page_obj": _page(request, items, 20),
            "params": params,
            "query_string": query_string,
            "kinds": LibraryItem.Kind.choices,
            "themes": Theme.objects.all(),
            "member_states": MemberState.objects.all(),
            "language_choices": settings.LANGUAGES,
            "can_edit": permissions.can_edit_library(request.user),
        },
    )


@login_required
def library_item(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(LibraryItem.objects.prefetch_related("themes", "member_states"), pk=pk)
    if item.status != LibraryItem.Status.PUBLISHED and not (
        item.author_id == request.user.pk or permissions.can_publish_library(request.user)
    ):
        raise PermissionDenied
    return render(
        request,
        "community/library_item.html",
        {
            "item": item,
            "can_publish": permissions.can_publish_library(request.user),
            "is_author": item.author_id == request.user.pk,
        },
    )


@login_required
def library_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    if not permissions.can_edit_library(request.user):
        raise PermissionDenied
    item = get_object_or_404(LibraryItem, pk=pk) if pk else None
    # The form shows the item: refused before it (GET or POST, valid or not) as saving refuses
    # (services.save_library_item): a published item is DPS's, another person's item too.
    if item is not None and not permissions.can_publish_library(request.user):
        if item.status == LibraryItem.Status.PUBLISHED:
            raise PermissionDenied(_("Only DPS can change a published item."))
        if item.author_id != request.user.pk:
            raise PermissionDenied(_("You can edit only your own items."))
    form = LibraryItemForm(request.POST or None, request.FILES or None, instance=item)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            saved = services.save_library_item(author=_me(request), item=item, **data)
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("community:library_item", pk=saved.pk)
    return render(
        request,
        "community/library_edit.html",
        {"form": form, "item": item},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def library_transition(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(LibraryItem, pk=pk)
    try:
        services.transition_library_item(
            item=item, actor=_me(request), action=request.POST.get("action", "")
        )
    except ValidationError as exc:
        return HttpResponse(" ".join(exc.messages), status=400)
    return redirect("community:library_item", pk=item.pk)


@login_required
def editorial_queue(request: HttpRequest) -> HttpResponse:
    if not permissions.can_edit_library(request.user):
        raise PermissionDenied
    return render(
        request,
        "community/editorial_queue.html",
        {
            "page_obj": _page(request, selectors.editorial_queue(user=_me(request))),
        },
    )


# Directory -----------------------------------------------------------------------------------


@login_required
def directory(request: HttpRequest) -> HttpResponse:
    member_state = request.GET.get("member_state", "")
    query = request.GET.get("q", "").strip()
    institutions = selectors.directory(member_state=member_state, query=query)
    return render(
        request,
        "community/directory.html",
        {
            "page_obj": _page(request, institutions, 30),
            "member_states": MemberState.objects.all(),
            "member_state": member_state,
            "query": query,
            "query_string": urlencode({"member_state": member_state, "q": query}),
        },
    )


@login_required
def institution_detail(request: HttpRequest, pk: int) -> HttpResponse:
    institution = get_object_or_404(
        Institution.objects.select_related("member_state", "profile"), pk=pk
    )
    from courses.models import Program

    programs = Program.objects.filter(
        courses__runs__host_institution__path__startswith=institution.path
    ).distinct()
    return render(
        request,
        "community/institution.html",
        {
            "institution": institution,
            "units": institution.children.order_by("name"),
            "certifications": QualityCertification.objects.filter(institution=institution),
            "programs": programs[:50],
            "coordinators": User.objects.filter(
                roles__role="coordinator", roles__institution=institution
            ).only("full_name", "email")[:20],
        },
    )
