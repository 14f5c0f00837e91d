"""Pages of the courses app; thin: parse, call a selector or service, render."""

from __future__ import annotations

import csv
import hashlib
import json
import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from courses import cards, content, player, selectors, services
from courses.caching import bounded_get_or_set
from courses.forms import ObservationForm, ReplicatedRunForm, VideoPositionForm
from courses.models import (
    AttendanceRecord,
    Course,
    CourseRun,
    Enrollment,
    EnrolmentJob,
    Lesson,
    Program,
    RunInstructor,
    Session,
)
from lms.accounts.models import MemberState
from lms.accounts.permissions import get_scope, has_perm, require_perm
from lms.chrome import render_page
from lms.i18n import pick
from lms.ids import as_id

PAGE_SIZE = 20
# The catalogue is the busiest page and changes rarely: its results are cached this long.
CATALOGUE_CACHE_SECONDS = 60
LANGUAGE_OPTIONS = [("es", "Español"), ("en", "English"), ("pt", "Português"), ("fr", "Français")]


def _page(request: HttpRequest, rows: Any, size: int = PAGE_SIZE) -> Any:
    """The page of `rows` the request asks for (?page=)."""
    return Paginator(rows, size).get_page(request.GET.get("page"))


def _query_string(request: HttpRequest, *keys: str) -> str:
    return urlencode({k: request.GET[k] for k in keys if request.GET.get(k)})


def catalogue(request: HttpRequest) -> HttpResponse:
    """Published courses with open runs; search and filters; paginated.

    The page's body (filters and results) depends only on the address and the language: it is
    rendered once per CATALOGUE_CACHE_SECONDS and kept in Redis and in the worker's memory
    (courses.caching.bounded_get_or_set), so a visit renders only the page around it.
    """
    language = get_language() or ""
    path = request.get_full_path()
    digest = hashlib.md5(path.encode(), usedforsecurity=False).hexdigest()
    body, _until = bounded_get_or_set(
        f"courses:catalogue-page:1:{language}:{digest}",
        CATALOGUE_CACHE_SECONDS,
        lambda: _catalogue_body(request),
    )
    return render_page(request, title=_("Course catalogue"), content=body, shared_content=True)


def _catalogue_body(request: HttpRequest) -> tuple[SafeString, float]:
    """The filters and results of the catalogue (until when the filter options stay valid)."""
    filters = {
        "query": request.GET.get("q", "").strip()[:100],
        "language": request.GET.get("language", "")[:2],
        "mode": request.GET.get("mode", "")[:10],
        "member_state": request.GET.get("member_state", "")[:2],
        "program": request.GET.get("program", "")[:40],
    }
    page = Paginator(selectors.catalogue_courses(**filters), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    options, until = _catalogue_options()
    html = render_to_string(
        "courses/includes/catalogue_body.html",
        {
            "page_obj": page,
            "filters": filters,
            "language_options": LANGUAGE_OPTIONS,
            "modes": CourseRun.Mode.choices,
            **options,
            "query_string": _query_string(
                request, "q", "language", "mode", "member_state", "program"
            ),
        },
    )
    return mark_safe(html), until  # noqa: S308 - rendered by the template engine


def _catalogue_options() -> tuple[dict[str, Any], float]:
    """Member states and programs for the filters, in the reader's language, cached."""

    def compute() -> tuple[dict[str, Any], float]:
        options = {
            "member_states": [(m.code, m.name) for m in MemberState.objects.order_by("code")],
            "programs": [
                (code, str(pick(title)))
                for code, title in Program.objects.filter(is_active=True).values_list(
                    "code", "title"
                )
            ],
        }
        return options, float("inf")

    return bounded_get_or_set(
        f"courses:catalogue-options:1:{get_language()}", CATALOGUE_CACHE_SECONDS * 5, compute
    )


def course_detail(request: HttpRequest, code: str) -> HttpResponse:
    """A course: description, outcomes, open runs, and the person's own enrolments."""
    course = get_object_or_404(Course.objects.select_related("owner_institution"), code=code)
    if not course.is_published and not has_perm(request.user, "courses.author_course", course):
        raise Http404
    runs = list(
        course.runs.filter(status=CourseRun.Status.OPEN)
        .select_related("member_state", "host_institution")
        .order_by("starts_on", "code")
    )
    mine = {}
    led: set[int] = set()
    if request.user.is_authenticated:
        mine = {
            e.run_id: e
            for e in Enrollment.objects.filter(user_id=request.user.pk, run__course=course)
        }
        # the replicated runs the person leads: they teach them, and do not enrol in them
        led = set(
            RunInstructor.objects.filter(
                user_id=request.user.pk,
                run__in=[run.pk for run in runs],
                role=RunInstructor.Role.TRAINER,
            ).values_list("run_id", flat=True)
        )
    for run in runs:
        run.my_enrollment = mine.get(run.pk)  # type: ignore[attr-defined]
        run.i_lead = run.pk in led  # type: ignore[attr-defined]
    outcomes = pick(course.learning_outcomes, default=course.default_language) or []
    return render(
        request,
        "courses/course_detail.html",
        {
            "course": course,
            "runs": runs,
            "outcomes": outcomes,
            "mine": mine.values(),
            "can_deliver": has_perm(request.user, "courses.replicate_course", course),
            "can_author": has_perm(request.user, "courses.author_course", course),
        },
    )


@login_required
@require_POST
def enrol(request: HttpRequest, run_code: str) -> HttpResponse:
    """Self-enrolment in a run."""
    run = get_object_or_404(CourseRun.objects.select_related("course"), code=run_code)
    try:
        enrollment = services.enrol(user=request.user, run=run, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("courses:course", code=run.course.code)
    notes: dict[str, str] = {
        Enrollment.Status.ACTIVE: _("You are enrolled."),
        Enrollment.Status.PENDING: _("Your request awaits approval by the coordinator."),
        Enrollment.Status.WAITLISTED: _("The run is full: you are on the waiting list."),
    }
    messages.success(request, notes.get(enrollment.status, enrollment.get_status_display()))
    if enrollment.status == Enrollment.Status.ACTIVE:
        return redirect("courses:resume", registration=enrollment.registration)
    return redirect("courses:my_learning")


@login_required
@require_POST
def withdraw(request: HttpRequest, registration: str) -> HttpResponse:
    enrollment = get_object_or_404(Enrollment, registration=registration)
    try:
        enrollment = services.withdraw(enrollment=enrollment, actor=request.user)
    except PermissionDenied:
        raise Http404 from None
    if enrollment.status != Enrollment.Status.WITHDRAWN:  # decided or completed meanwhile
        messages.info(
            request,
            _("Nothing was withdrawn: your enrolment is “%(status)s”.")
            % {"status": enrollment.get_status_display()},
        )
        return redirect("courses:my_learning")
    messages.success(request, _("You have withdrawn from the course."))
    return redirect("courses:my_learning")


@login_required
def my_learning(request: HttpRequest) -> HttpResponse:
    """Every enrolment of the signed-in person with its progress."""
    page = selectors.my_enrollments_page(
        user=request.user, number=request.GET.get("page"), size=PAGE_SIZE
    )
    scope = get_scope(request.user)
    teaches = scope.is_dps or scope.is_instructor or scope.is_coordinator
    body = render_to_string(
        "courses/includes/my_learning_body.html",
        {
            "page_obj": page,
            "cards": cards.cards(request, page.object_list),
            "teaches": teaches,
            "coordinates": bool(scope.coordinated_paths),
            "learner_links": [(reverse(name), label) for name, label in content.learner_links()],
        },
    )  # no request: the body needs none of the context processors
    return render_page(request, title=_("My learning"), content=mark_safe(body))  # noqa: S308 - template output


def _own_enrollment(request: HttpRequest, registration: str) -> Enrollment:
    """The signed-in learner's enrolment for the player's actions (resume, complete, the video's
    position, launch): its own row only. None of them reads its run, course or version here (what
    records a result reads them again under its lock), and building the query with those joins
    cost Django more than the rest of a position save."""
    enrollment = get_object_or_404(Enrollment, registration=registration)
    # Only the learner reads their own player; others get a 404 that reveals nothing.
    if enrollment.user_id != request.user.pk:
        raise Http404
    enrollment.user = request.user
    if enrollment.status not in (Enrollment.Status.ACTIVE, Enrollment.Status.COMPLETED):
        raise PermissionDenied(_("Your enrolment is not active."))
    return enrollment


@login_required
def resume(request: HttpRequest, registration: str) -> HttpResponse:
    """Back to where the learner stopped: the last lesson opened, else the first not completed."""
    try:
        target = services.player_resume(registration=registration, user=request.user)
    except Enrollment.DoesNotExist:
        raise Http404 from None
    if target is None:
        messages.info(request, _("This course has no lessons yet."))
        return redirect("courses:my_learning")
    return redirect("courses:lesson", registration=registration, lesson_id=target)


@login_required
def lesson(request: HttpRequest, registration: str, lesson_id: int) -> HttpResponse:
    """The lesson player: content, previous and next, progress bar, outline (the page's body is
    built by courses.player; a revisit reads one row of the database)."""
    try:
        visit = services.player_visit(
            registration=registration, user=request.user, lesson_id=lesson_id
        )
    except (Enrollment.DoesNotExist, Lesson.DoesNotExist):
        raise Http404 from None
    return render_page(
        request,
        title=player.page_title(visit.lesson, visit.enrollment.language),
        head=player.head(),
        content=player.content(request, visit.enrollment, visit.lesson, visit.outline),
        scripts=player.scripts(visit.lesson),
    )


@login_required
@require_POST
def complete(request: HttpRequest, registration: str, lesson_id: int) -> HttpResponse:
    """The learner marks a video watched (or any non-assessed lesson done)."""
    enrollment = _own_enrollment(request, registration)
    current = get_object_or_404(Lesson, pk=lesson_id, version_id=enrollment.version_id)
    if current.kind in (Lesson.Kind.ASSESSMENT, Lesson.Kind.XAPI):
        raise PermissionDenied(_("This lesson is completed by its own activity."))
    services.complete_lesson(enrollment=enrollment, lesson=current, actor=request.user)
    ids = [item.pk for item in selectors.lesson_outline(version_id=enrollment.version_id)]
    position = ids.index(current.pk)
    enrollment.refresh_from_db(fields=["status"])
    if enrollment.status == Enrollment.Status.COMPLETED:
        messages.success(request, _("Congratulations: you have completed the course."))
        return redirect("courses:my_learning")
    messages.success(request, _("Lesson marked as done."))
    if position + 1 < len(ids):
        return redirect("courses:lesson", registration=registration, lesson_id=ids[position + 1])
    return redirect("courses:lesson", registration=registration, lesson_id=current.pk)


@login_required
@require_POST
def video_position(request: HttpRequest, registration: str, lesson_id: int) -> JsonResponse:
    """The player saves where the learner is in a video (every 15 s, on pause and on leaving);
    reaching the end marks it watched. Answers JSON; 400 names the field that was wrong, 403
    (an enrolment no longer active) names the registration."""
    try:
        enrollment = _own_enrollment(request, registration)
    except PermissionDenied as exc:
        return JsonResponse(
            {"errors": {"registration": [{"message": str(exc), "code": "inactive"}]}},
            status=403,
        )
    current = selectors.player_lesson(lesson_id=lesson_id, version_id=enrollment.version_id)
    if current is None:
        raise Http404
    form = VideoPositionForm(request.POST)
    if not form.is_valid():
        return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
    duration = form.cleaned_data["duration"]
    try:
        progress = services.save_video_position(
            enrollment=enrollment,
            lesson=current,
            seconds=int(form.cleaned_data["position"]),
            duration=int(duration) if duration else None,
        )
    except ValidationError as exc:
        return JsonResponse(
            {"errors": {k: [{"message": m} for m in v] for k, v in exc.message_dict.items()}},
            status=400,
        )
    return JsonResponse(
        {
            "position": progress.position_seconds,
            "completed": progress.status == progress.Status.COMPLETED,
        }
    )


@login_required
def launch(request: HttpRequest, registration: str, lesson_id: int) -> HttpResponse:
    """Launch external xAPI content with the standard launch parameters, reporting to our LRS."""
    enrollment = _own_enrollment(request, registration)
    current = get_object_or_404(
        Lesson, pk=lesson_id, version_id=enrollment.version_id, kind=Lesson.Kind.XAPI
    )
    from lms.xapi.services import issue_launch_credential

    params = issue_launch_credential(
        user=request.user,
        registration=enrollment.registration,
        activity_id=services.lesson_activity_id(current),
    )
    # The launch convention passes the actor as JSON text.
    params = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
    separator = "&" if "?" in current.launch_url else "?"
    return HttpResponseRedirect(current.launch_url + separator + urlencode(params))


# Instructor pages ------------------------------------------------------------------------------


def _run(request: HttpRequest, run_code: str, **_ids: Any) -> CourseRun:
    return get_object_or_404(
        CourseRun.objects.select_related("course", "host_institution"), code=run_code
    )


@login_required
def teaching(request: HttpRequest) -> HttpResponse:
    """The runs the person teaches, supervises or coordinates."""
    page = _page(request, selectors.teaching_runs(user=request.user))
    return render(request, "courses/teaching.html", {"page_obj": page})


@require_perm("courses.teach_run", _run)
def roster(request: HttpRequest, run_code: str) -> HttpResponse:
    """The people of a run with status, progress and attendance."""
    return _roster_page(request, request.permission_object)  # type: ignore[attr-defined]


def _roster_page(
    request: HttpRequest,
    run: CourseRun,
    status: int = 200,
    observation_form: ObservationForm | None = None,
) -> HttpResponse:
    """The roster; `observation_form` is the supervising expert's form as posted, errors and all."""
    page = _page(request, selectors.run_roster(run=run), 50)
    sessions = run.sessions.order_by("starts_at")
    return render(
        request,
        "courses/roster.html",
        {
            "reached": selectors.officers_reached_by_replication(run=run),
            "observations": run.observations.select_related("trainer").order_by("-observed_at")[
                :20
            ],
            "is_supervisor": run.supervisor_id == request.user.pk,
            "observation_form": ObservationForm(run=run)
            if observation_form is None
            else observation_form,
            "trainers": run.run_instructors.filter(role="trainer").select_related("user"),
            "run": run,
            "page_obj": page,
            "sessions": sessions,
            # requests waiting for a decision (the run's counters hold seats and the waiting
            # list; pending requests are neither): one count by the (run, status) index
            "pending": run.enrollments.filter(status=Enrollment.Status.PENDING).count(),
            "can_manage": has_perm(request.user, "courses.manage_run", run),
        },
        status=status,
    )


def _observe(
    request: HttpRequest, run: CourseRun, form: ObservationForm, then: str
) -> HttpResponse | None:
    """Record the supervising expert's observation from `form` (the roster's or the supervision
    page's), then go to the page `then`; None when the form or the service refused it."""
    try:
        return _submit(
            request, form,
            lambda: services.record_observation(
                run=run, supervisor=request.user, **form.cleaned_data
            ),
            _("Observation saved."),
            lambda _observation: redirect(then, run_code=run.code),
        )  # fmt: skip
    except services.AlreadyCreated:  # the same form sent again (a double click, a retry)
        messages.info(request, _("This observation was already saved."))
        return redirect(then, run_code=run.code)


@require_perm("courses.teach_run", _run)
@require_POST
def observe(request: HttpRequest, run_code: str) -> HttpResponse:
    """The supervising expert records feedback on a replicating trainer's teaching from the
    roster, checked as on the supervision page (ObservationForm, then the service); a refusal
    shows the roster again with the form's errors and what was typed."""
    run: CourseRun = request.permission_object  # type: ignore[attr-defined]
    form = ObservationForm(request.POST, run=run)
    done = _observe(request, run, form, "courses:roster")
    if done is not None:
        return done
    return _roster_page(request, run, status=400, observation_form=form)


# Train-the-trainers -----------------------------------------------------------------------------


def _course(request: HttpRequest, code: str) -> Course:
    return get_object_or_404(Course.objects.select_related("current_version"), code=code)


@require_perm("courses.replicate_course", _course)
def deliver(request: HttpRequest, code: str) -> HttpResponse:
    """A qualified trainer plans a replicated run of the course at their own institution."""
    course: Course = request.permission_object  # type: ignore[attr-defined]
    trainer = request.user
    source = services.replication_source(course=course, trainer=trainer)
    if source is None:
        raise Http404
    form = ReplicatedRunForm(request.POST or None, course=course, trainer=trainer)

    def plan() -> CourseRun:
        data = dict(form.cleaned_data)
        return services.create_replicated_run(
            source=source, trainer=trainer, supervisor=data.pop("supervisor"),
            actor=trainer, requires_approval=True, **data,
        )  # fmt: skip

    done = _submit(
        request, form, plan, _("Your run is planned; enrol your officers next."),
        lambda run: redirect("courses:roster", run_code=run.code),
    )  # fmt: skip
    if done is not None:
        return done
    return render(
        request,
        "courses/deliver.html",
        {
            "course": course,
            "source": source,
            "form": form,
            "institution": getattr(trainer, "institution", None),
        },
        status=400 if form.errors else 200,
    )


def _submit(
    request: HttpRequest, form: Any, action: Any, done: str, then: Any
) -> HttpResponse | None:
    """When a posted form is valid, run `action()`; on success flash `done` and answer
    `then(result)`. A service's refusal (ValidationError) is shown on the form and None is
    returned for the view to render it again; VersionFrozen goes up to the view."""
    if request.method != "POST" or not form.is_valid():
        return None
    try:
        result = action()
    except ValidationError as exc:
        if isinstance(exc, services.VersionFrozen):
            raise
        _add_errors(form, exc)
        return None
    messages.success(request, done)
    return then(result)


def _add_errors(form: Any, exc: ValidationError) -> None:
    """A service's refusal shown on the form, on its field when it names one."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@login_required
def supervision(request: HttpRequest) -> HttpResponse:
    """The replicated runs the signed-in expert supervises."""
    page = _page(request, selectors.supervised_runs(user=request.user))
    return render(request, "courses/supervision.html", {"page_obj": page})


@require_perm("courses.supervise_run", _run)
def supervise_run(request: HttpRequest, run_code: str) -> HttpResponse:
    """The supervising expert records observations of the trainers' teaching in one run."""
    run: CourseRun = request.permission_object  # type: ignore[attr-defined]
    form = ObservationForm(request.POST or None, run=run)
    done = _observe(request, run, form, "courses:supervise_run")
    if done is not None:
        return done
    return render(
        request,
        "courses/supervise_run.html",
        {
            "run": run,
            "form": form,
            "observations": run.observations.select_related("trainer", "session").order_by(
                "-observed_at"
            )[:50],
        },
        status=400 if form.errors else 200,
    )


@require_perm("courses.teach_run", _run)
def progress_csv(request: HttpRequest, run_code: str) -> HttpResponse:
    """The progress table of a run as CSV, streamed (a run may hold 200,000 learners)."""
    run: CourseRun = request.permission_object  # type: ignore[attr-defined]
    from lms.csv_safety import safe_row  # no cell a spreadsheet would run as a formula

    class Echo:
        def write(self, value: str) -> str:
            return value

    writer = csv.writer(Echo())

    def rows() -> Any:
        yield writer.writerow(
            [_("Name"), _("Email"), _("Badge number"), _("Status"), _("Progress (%)"),
             _("Attendance (%)"), _("Score (%)"), _("Completed at")]
        )  # fmt: skip
        for e in selectors.run_roster(run=run).iterator(chunk_size=2000):
            yield writer.writerow(safe_row(
                [e.user.full_name, e.user.email, e.user.badge_number, e.get_status_display(),
                 e.progress_pct, "" if e.attendance_pct is None else e.attendance_pct,
                 "" if e.score_pct is None else e.score_pct,
                 e.completed_at.isoformat() if e.completed_at else ""]
            ))  # fmt: skip

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{run.code}-progress.csv"'
    return response  # type: ignore[return-value]


def _session(request: HttpRequest, run_code: str, session_id: int) -> CourseRun:
    session = get_object_or_404(
        Session.objects.select_related("run__course"), pk=session_id, run__code=run_code
    )
    request.course_session = session  # type: ignore[attr-defined]
    return session.run


@require_perm("courses.teach_run", _session)
def attendance(request: HttpRequest, run_code: str, session_id: int) -> HttpResponse:
    """Take attendance for one session on a phone-sized page; all present in one tap. Before the
    session starts the page says so instead of showing the form."""
    session: Session = request.course_session  # type: ignore[attr-defined]
    roster_rows = list(selectors.seated_roster(run=session.run))
    error = ""
    if request.method == "POST":
        default = request.POST.get("all", "")
        marks: dict[int, str] = {}
        for enrollment in roster_rows:
            value = request.POST.get(f"e{enrollment.pk}", "") or default
            if value:
                marks[enrollment.pk] = value
        try:
            services.record_attendance(session=session, marks=marks, actor=request.user)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, _("Attendance saved."))
            return redirect("courses:attendance", run_code=run_code, session_id=session_id)
    current = selectors.session_marks(session=session)
    return render(
        request,
        "courses/attendance.html",
        {
            "session": session,
            "run": session.run,
            "rows": [(e, current.get(e.pk, "")) for e in roster_rows],
            "statuses": AttendanceRecord.Status.choices,
            "error": error,
            "started": services.session_started(session),
        },
        status=400 if error else 200,
    )


# Coordinator pages -----------------------------------------------------------------------------


@login_required
def institution_enrollments(request: HttpRequest) -> HttpResponse:
    """Enrolments of the officers of the institutions the coordinator covers."""
    scope = get_scope(request.user)
    if not (scope.is_dps or scope.coordinated_paths):
        raise PermissionDenied(_("Only coordinators see their institution's enrolments."))
    status = request.GET.get("status", "")
    rows = selectors.institution_enrollments(
        user=request.user, status=status, run=request.GET.get("run", "")
    )
    page = _page(request, rows, 50)
    # A pending request is decided here by whoever manages its run (a coordinator of the host
    # institution, DPS: courses.manage_run's rule), as on the run's roster; the host is read with
    # the row, so the check costs no query (the rule itself reads the host by its id).
    decidable = {
        enrollment.pk
        for enrollment in page
        if enrollment.status == Enrollment.Status.PENDING
        and scope.coordinates(enrollment.run.host_institution)
    }
    return render(
        request,
        "courses/institution_enrollments.html",
        {"page_obj": page, "statuses": Enrollment.Status.choices, "status": status,
         "decidable": decidable,
         "query_string": _query_string(request, "status", "run")},
    )  # fmt: skip


@require_perm("courses.manage_run", _run)
def enrol_officers(request: HttpRequest, run_code: str) -> HttpResponse:
    """Whoever manages the run enrols officers: chosen ones, or all matching a filter. An
    officer's id that is not one (anything but ASCII digits, within a bigint: "²" passes
    str.isdigit() and fails int(), 25 digits overflow the column) is a 400 naming the field."""
    run: CourseRun = request.permission_object  # type: ignore[attr-defined]
    query = request.GET.get("q", "").strip()[:100]
    officers = services.officers_to_enrol_in(run=run, user=request.user, query=query)

    def page(status: int = 200) -> HttpResponse:
        return render(
            request,
            "courses/enrol_officers.html",
            {"run": run, "page_obj": _page(request, officers, 50), "q": query,
             "query_string": _query_string(request, "q")},
            status=status,
        )  # fmt: skip

    if request.method != "POST":
        return page()
    if request.POST.get("everyone_matching"):
        wanted = request.POST.get("q", "").strip()[:100]
        matching = services.officers_to_enrol_in(run=run, user=request.user, query=wanted)
        if matching.count() >= services.enrol_in_background_from():
            job = services.start_enrolment_job(run=run, actor=request.user, query=wanted)
            return redirect("courses:enrolment_job", run_code=run.code, job_id=job.pk)
        chosen = list(matching)
    else:
        values = request.POST.getlist("officer")
        wrong = next((v for v in values if as_id(v) is None), None)
        if wrong is not None:
            messages.error(
                request,
                _("Officers: “%(value)s” is not one of the officers listed; choose them in the "
                  "list.") % {"value": wrong[:40]},
            )  # fmt: skip
            return page(status=400)
        chosen = list(officers.filter(pk__in=[int(v) for v in values]))
    if not chosen:
        messages.error(request, _("Choose at least one officer."))
        return page(status=400)
    try:
        outcome = services.enrol_many(users=chosen, run=run, actor=request.user)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
        return page()
    messages.success(
        request,
        _(
            "Enrolled: %(enrolled)d · on the waiting list: %(waitlisted)d · already "
            "there: %(already)d."
        )
        % {
            "enrolled": len(outcome.enrolled),
            "waitlisted": len(outcome.waitlisted),
            "already": outcome.already,
        },
    )
    return redirect("courses:roster", run_code=run.code)


@require_perm("courses.manage_run", _run)
def enrolment_job(request: HttpRequest, run_code: str, job_id: uuid.UUID) -> HttpResponse:
    """A bulk enrolment under way: its progress, refreshed by the page's script from the same
    address as JSON (Accept: application/json), or by reloading."""
    run: CourseRun = request.permission_object  # type: ignore[attr-defined]
    job = get_object_or_404(EnrolmentJob, pk=job_id, run=run)
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse(
            {
                "state": job.state, "label": str(job.get_state_display()), "total": job.total,
                "done": job.done, "enrolled": job.enrolled, "waitlisted": job.waitlisted,
                "already": job.already, "percent": job.percent, "error": job.error,
            }
        )  # fmt: skip
    return render(request, "courses/enrolment_job.html", {"run": run, "job": job})


@require_perm("courses.manage_run", _run)
@require_POST
def decide_enrolment(request: HttpRequest, run_code: str, enrollment_id: int) -> HttpResponse:
    """Approve or reject a pending request (on-site runs)."""
    run: CourseRun = request.permission_object  # type: ignore[attr-defined]
    enrollment = get_object_or_404(
        Enrollment.objects.select_related("user"), pk=enrollment_id, run=run
    )
    decision = request.POST.get("decision")
    if decision not in ("approve", "reject"):
        messages.error(request, _("Decision: choose Approve or Reject."))
        return _roster_page(request, run, status=400)
    name, was_pending = enrollment.user.full_name, enrollment.status == Enrollment.Status.PENDING
    decide = services.approve_enrolment if decision == "approve" else services.reject_enrolment
    try:
        enrollment = decide(enrollment=enrollment, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _roster_page(request, run, status=400)
    S = Enrollment.Status
    made = (S.ACTIVE, S.WAITLISTED) if decision == "approve" else (S.REJECTED,)
    if not was_pending or enrollment.status not in made:  # decided before, here or elsewhere
        messages.info(
            request,
            _("The request of %(name)s was already decided: %(status)s.")
            % {"name": name, "status": enrollment.get_status_display()},
        )
    elif decision == "approve":
        messages.success(
            request,
            _("The request of %(name)s is approved: %(status)s.")
            % {"name": name, "status": enrollment.get_status_display()},
        )
    else:
        messages.success(request, _("The request of %(name)s is rejected.") % {"name": name})
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(back)  # the institution's enrolments, where it was decided
    return redirect("courses:roster", run_code=run.code)
