"""Bad input found by QA (second wave): each is refused with a 400 that names the field, in the
reader's language; never a 500, nothing half-written, nothing doubled."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from courses.models import (
    Course,
    CourseRun,
    Enrollment,
    Lesson,
    Module,
    RunInstructor,
    Session,
)
from tests.courses.factories import CourseFactory, RunFactory, make_version
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _days(n: int) -> str:
    return (timezone.localdate() + timedelta(days=n)).isoformat()


def _in_another_connection(work: Callable[[], Any]) -> None:
    """Run `work` in a thread of its own: its own database connection, committed at once (what
    a second request does meanwhile). Tests using it need PostgreSQL (`require_postgres`): the
    in-memory SQLite of a bare laptop's test run locks a table a second connection writes to
    rather than waiting for it."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            work()
        except BaseException as exc:  # noqa: BLE001 - given back to the test
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def _at_once(clients: list[Client], url: str, data: dict[str, Any]) -> list[Any]:
    """The same POST from each client, all at the same moment (one thread each); PostgreSQL
    only, as `_in_another_connection`."""
    barrier = threading.Barrier(len(clients))
    answers: list[Any] = [None] * len(clients)

    def post(index: int) -> None:
        try:
            barrier.wait()
            answers[index] = clients[index].post(url, data)
        except BaseException as exc:  # noqa: BLE001 - given back to the test
            answers[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def _logged_in(user: Any, count: int) -> list[Client]:
    clients = [Client() for _ in range(count)]
    for client in clients:
        client.force_login(user)
    return clients


def _messages(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# 1. Officers chosen by id: only ASCII digits, within a bound -------------------------------------


@pytest.mark.parametrize("value", ["²", "9999999999999999999999999", "1e3", "-1", " 7"])
def test_an_officer_id_that_is_not_one_is_refused_naming_the_field(
    client: Client, coordinator: Any, institution: Any, value: str
) -> None:
    run = RunFactory(host_institution=institution)
    officer = UserFactory(institution=institution, full_name="Olga Officer")
    client.force_login(coordinator)
    url = reverse("courses:enrol_officers", args=[run.code])
    response = client.post(url, {"officer": [str(officer.pk), value]})
    assert response.status_code == 400
    assert any(text.startswith("Officers:") for text in _messages(response))
    assert "Olga Officer" in response.text  # the list, to choose again
    assert not Enrollment.objects.filter(run=run).exists()


def test_no_officer_chosen_is_a_400(client: Client, coordinator: Any, institution: Any) -> None:
    run = RunFactory(host_institution=institution)
    client.force_login(coordinator)
    response = client.post(reverse("courses:enrol_officers", args=[run.code]), {})
    assert response.status_code == 400
    assert _messages(response) == ["Choose at least one officer."]


def test_an_officer_id_is_refused_in_the_readers_language(
    client: Client, coordinator: Any, institution: Any
) -> None:
    coordinator.preferred_language = "es"
    coordinator.save(update_fields=["preferred_language"])
    run = RunFactory(host_institution=institution)
    client.force_login(coordinator)
    response = client.post(reverse("courses:enrol_officers", args=[run.code]), {"officer": "²"})
    assert response.status_code == 400
    assert 'lang="es"' in response.text


# 2. The module of a new lesson -------------------------------------------------------------------


@pytest.mark.parametrize("value", ["abc", "²", "9999999999999999999999999"])
def test_a_module_that_is_not_an_id_is_refused_naming_the_field(
    client: Client, coordinator: Any, course: Course, value: str
) -> None:
    client.force_login(coordinator)
    url = reverse("courses:author_lesson_new", args=[course.code])
    data = {"module": value, "kind": "text", "title_es": "T", "body_es": "<p>x</p>",
            "estimated_minutes": "5"}  # fmt: skip
    for response in (client.post(url, data), client.get(url, {"module": value})):
        assert response.status_code == 400
        assert "Module: “" in response.text
        assert "is not a module of this course." in response.text
    assert not Lesson.objects.exists()


def test_a_module_of_another_course_is_still_not_found(
    client: Client, coordinator: Any, course: Course
) -> None:
    other = CourseFactory(owner_institution=course.owner_institution)
    foreign = make_version(other, lessons=0).modules.get()
    client.force_login(coordinator)
    url = reverse("courses:author_lesson_new", args=[course.code])
    assert client.get(url, {"module": str(foreign.pk)}).status_code == 404


# 3. The same code posted twice at once ----------------------------------------------------------


def _course_data(institution: Any, **extra: Any) -> dict[str, Any]:
    return {
        "code": "dh-201", "credit_hours": "12.5", "default_language": "es",
        "languages": ["es", "en"], "owner_institution": str(institution.pk),
        "title_es": "Derechos humanos", **extra,
    }  # fmt: skip


def _racing(monkeypatch: Any, model: Any, competitor: Callable[[dict[str, Any]], None]) -> None:
    """The first `model.objects.create(…)` finds that another request has just committed
    `competitor(kwargs)`: after the service's check, before its insert."""
    manager = model.objects
    create = manager.create
    raced: list[bool] = []

    def racing_create(**kwargs: Any) -> Any:
        if not raced:
            raced.append(True)
            _in_another_connection(lambda: competitor(kwargs))
        return create(**kwargs)

    monkeypatch.setattr(manager, "create", racing_create)


@pytest.mark.django_db(transaction=True)
def test_two_courses_created_at_once_with_one_code(
    client: Client, coordinator: Any, institution: Any, monkeypatch: Any, require_postgres: None
) -> None:
    _racing(monkeypatch, Course, lambda kwargs: Course(code=kwargs["code"]).save())
    client.force_login(coordinator)
    response = client.post(reverse("courses:author_new"), _course_data(institution))
    assert response.status_code == 400
    assert response.context["form"].errors["code"] == ["A course with this code exists already."]
    assert Course.objects.filter(code="dh-201").count() == 1
    assert Course.objects.get(code="dh-201").versions.count() == 0  # the other request's own


@pytest.mark.django_db(transaction=True)
def test_two_runs_created_at_once_with_one_code(
    client: Client,
    coordinator: Any,
    institution: Any,
    instructor: Any,
    monkeypatch: Any,
    require_postgres: None,
) -> None:
    course = CourseFactory(owner_institution=institution)
    version = make_version(course)

    def competitor(kwargs: dict[str, Any]) -> None:
        CourseRun(course=course, version=version, code=kwargs["code"]).save()

    _racing(monkeypatch, CourseRun, competitor)
    client.force_login(coordinator)
    response = client.post(
        reverse("courses:author_run_new", args=[course.code]),
        {"code": "dh-201-lima", "mode": "onsite", "language": "es",
         "host_institution": str(institution.pk), "self_enrolment": "on",
         "instructors": [str(instructor.pk)]},
    )  # fmt: skip
    assert response.status_code == 400
    assert response.context["form"].errors["code"] == [
        "A course run with this code exists already."
    ]
    run = CourseRun.objects.get(code="dh-201-lima")
    assert not RunInstructor.objects.filter(run=run).exists()  # nothing half-written


# 4 and 5. Replicated runs: a free code, and no double ---------------------------------------------


def _plan(expert: Any, **extra: Any) -> dict[str, Any]:
    return {
        "mode": "onsite", "starts_on": _days(30), "ends_on": _days(34),
        "venue": "Academia regional", "capacity": "30", "language": "es",
        "supervisor": str(expert.pk), **extra,
    }  # fmt: skip


def _stem(ttt: dict[str, Any], institution: Any) -> str:
    return f"{ttt['source'].course.code}-rep-{institution.short_name.lower()}"


@pytest.mark.parametrize("taken", [["2"], ["1", "5", "x", "y"]])
def test_a_replicated_run_gets_a_free_code(
    client: Client, ttt: dict[str, Any], institution: Any, taken: list[str]
) -> None:
    source = ttt["source"]
    for suffix in taken:
        RunFactory(
            course=source.course, version=source.version, code=f"{_stem(ttt, institution)}-{suffix}"
        )
    client.force_login(ttt["trainer"])
    response = client.post(
        reverse("courses:deliver", args=[source.course.code]), _plan(ttt["expert"])
    )
    assert response.status_code == 302
    run = CourseRun.objects.get(replicated_from=source)
    highest = max(int(s) for s in taken if s.isdigit())
    assert run.code == f"{_stem(ttt, institution)}-{highest + 1}"


@pytest.mark.django_db(transaction=True)
def test_a_replicated_run_code_taken_meanwhile_is_chosen_again(
    client: Client,
    ttt: dict[str, Any],
    institution: Any,
    monkeypatch: Any,
    require_postgres: None,
) -> None:
    source = ttt["source"]

    def competitor(kwargs: dict[str, Any]) -> None:
        CourseRun(course_id=source.course_id, version=source.version, code=kwargs["code"]).save()

    _racing(monkeypatch, CourseRun, competitor)
    client.force_login(ttt["trainer"])
    response = client.post(
        reverse("courses:deliver", args=[source.course.code]), _plan(ttt["expert"])
    )
    assert response.status_code == 302
    run = CourseRun.objects.get(replicated_from=source)
    assert run.code == f"{_stem(ttt, institution)}-2"
    assert CourseRun.objects.filter(code=f"{_stem(ttt, institution)}-1").exists()


def test_the_same_replicated_run_posted_twice_is_planned_once(
    client: Client, ttt: dict[str, Any]
) -> None:
    source = ttt["source"]
    client.force_login(ttt["trainer"])
    url = reverse("courses:deliver", args=[source.course.code])
    assert client.post(url, _plan(ttt["expert"])).status_code == 302
    again = client.post(url, _plan(ttt["expert"]))
    assert again.status_code == 400
    run = CourseRun.objects.get(replicated_from=source)
    assert set(again.context["form"].errors) == {"starts_on"}
    assert run.code in again.context["form"].errors["starts_on"][0]
    # Another start date is another run; so is the same date once the first run is closed.
    assert (
        client.post(url, _plan(ttt["expert"], starts_on=_days(40), ends_on=_days(41))).status_code
        == 302
    )
    CourseRun.objects.filter(pk=run.pk).update(status=CourseRun.Status.CLOSED)
    assert client.post(url, _plan(ttt["expert"])).status_code == 302
    assert CourseRun.objects.filter(replicated_from=source).count() == 3


# 5. Modules and sessions created several times at once ------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_module_posted_five_times_at_once_is_created_once(
    coordinator: Any, institution: Any, require_postgres: None
) -> None:
    course = CourseFactory(owner_institution=institution, languages="es en")
    version = make_version(course, lessons=1)
    url = reverse("courses:author_module_new", args=[course.code])
    clients = _logged_in(coordinator, 5)
    answers = _at_once(clients, url, {"title_es": "Uso de la fuerza"})
    assert all(getattr(a, "status_code", a) == 302 for a in answers), answers
    modules = Module.objects.filter(version=version, title={"es": "Uso de la fuerza"})
    assert modules.count() == 1
    assert modules.get().position == 2
    # The repeats were told, and sent to the course like the first.
    course_page = reverse("courses:author_course", args=[course.code])
    assert {a["Location"] for a in answers} == {course_page}
    told = [_messages(c.get(course_page)) for c in clients]
    assert sorted(told) == [["The module is saved."]] + [["This module was already created."]] * 4


def test_a_module_repeated_after_lessons_were_added_is_another_module(
    client: Client, coordinator: Any, course: Course
) -> None:
    client.force_login(coordinator)
    url = reverse("courses:author_module_new", args=[course.code])
    client.post(url, {"title_es": "Práctica"})
    repeat = client.post(url, {"title_es": "Práctica"}, follow=True)
    assert "This module was already created." in [str(m) for m in repeat.context["messages"]]
    version = course.current_version
    assert version is not None
    first = Module.objects.get(version=version, title={"es": "Práctica"})
    Lesson.objects.create(version=version, module=first, position=1, title={"es": "L"})
    assert client.post(url, {"title_es": "Práctica"}).status_code == 302
    assert Module.objects.filter(version=version, title={"es": "Práctica"}).count() == 2


@pytest.fixture
def planned_run(institution: Any) -> CourseRun:
    course = CourseFactory(owner_institution=institution)
    make_version(course)
    return RunFactory(course=course, host_institution=institution, mode=CourseRun.Mode.ONSITE)


@pytest.mark.django_db(transaction=True)
def test_a_session_posted_five_times_at_once_is_created_once(
    coordinator: Any, planned_run: CourseRun, require_postgres: None
) -> None:
    url = reverse("courses:author_run", args=[planned_run.code])
    data = {"title": "Día 1", "starts_at": f"{_days(10)}T09:00", "ends_at": f"{_days(10)}T12:00"}
    answers = _at_once(_logged_in(coordinator, 5), url, data)
    assert all(getattr(a, "status_code", a) == 302 for a in answers), answers
    assert Session.objects.filter(run=planned_run).count() == 1


def test_a_session_posted_twice_is_created_once(
    client: Client, coordinator: Any, planned_run: CourseRun
) -> None:
    client.force_login(coordinator)
    url = reverse("courses:author_run", args=[planned_run.code])
    data = {"title": "Día 1", "starts_at": f"{_days(10)}T09:00", "ends_at": f"{_days(10)}T12:00"}
    assert client.post(url, data).status_code == 302
    repeat = client.post(url, data, follow=True)
    assert repeat.redirect_chain == [(url, 302)]
    assert "This session was already created." in _messages(repeat)
    # Another title at the very same time is not a repeat: a session is already there.
    other = client.post(url, {**data, "title": "Día 2"})
    assert other.status_code == 400
    assert set(other.context["form"].errors) == {"starts_at"}
    assert Session.objects.filter(run=planned_run).count() == 1


# 6. Dates: from 2000 to ten years ahead -----------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [("starts_on", "0001-01-01"), ("ends_on", "9999-12-31"), ("starts_on", "1999-12-31")],
)
def test_a_run_date_out_of_range_is_refused(
    client: Client, coordinator: Any, course: Course, institution: Any, field: str, value: str
) -> None:
    client.force_login(coordinator)
    data = {"code": "dh-run-x", "mode": "onsite", "language": "es",
            "host_institution": str(institution.pk), "starts_on": _days(1), "ends_on": _days(2),
            field: value}  # fmt: skip
    response = client.post(reverse("courses:author_run_new", args=[course.code]), data)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors
    assert "2000" in errors[field][0]
    assert not CourseRun.objects.filter(code="dh-run-x").exists()


def test_a_run_date_ten_years_ahead_is_accepted(
    client: Client, coordinator: Any, course: Course, institution: Any
) -> None:
    client.force_login(coordinator)
    data = {"code": "dh-run-y", "mode": "onsite", "language": "es",
            "host_institution": str(institution.pk), "starts_on": "2000-01-01",
            "ends_on": _days(365 * 10)}  # fmt: skip
    response = client.post(reverse("courses:author_run_new", args=[course.code]), data)
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("field", "starts", "ends"),
    [("starts_at", "0001-01-01T00:00", None), ("ends_at", None, "9999-12-31T23:59")],
)
def test_a_session_time_out_of_range_is_refused(
    client: Client, coordinator: Any, institution: Any, field: str, starts: str | None,
    ends: str | None,
) -> None:  # fmt: skip
    run = RunFactory(host_institution=institution, mode=CourseRun.Mode.ONSITE)
    client.force_login(coordinator)
    data = {"title": "Día 1", "starts_at": starts or f"{_days(3)}T09:00",
            "ends_at": ends or f"{_days(3)}T12:00"}  # fmt: skip
    response = client.post(reverse("courses:author_run", args=[run.code]), data)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not Session.objects.filter(run=run).exists()


def test_a_replicated_run_in_9999_is_refused(client: Client, ttt: dict[str, Any]) -> None:
    client.force_login(ttt["trainer"])
    url = reverse("courses:deliver", args=[ttt["source"].course.code])
    response = client.post(url, _plan(ttt["expert"], ends_on="9999-01-01"))
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"ends_on"}
    response = client.post(url, _plan(ttt["expert"], starts_on="9998-12-31", ends_on="9999-01-01"))
    assert set(response.context["form"].errors) == {"starts_on", "ends_on"}
    assert not CourseRun.objects.filter(replicated_from=ttt["source"]).exists()


# 7. A text lesson whose text is nothing once sanitised -------------------------------------------


def test_a_text_lesson_with_nothing_left_after_sanitising_is_refused(
    client: Client, coordinator: Any, course: Course
) -> None:
    client.force_login(coordinator)
    module = Module.objects.get(version=course.current_version)
    url = reverse("courses:author_lesson_new", args=[course.code]) + f"?module={module.pk}"
    base = {"kind": "text", "title_es": "Texto", "estimated_minutes": "5"}
    for body in ("<script>alert(1)</script>", "<style>p{}</style><p> </p>", "<img onerror=x>"):
        response = client.post(url, {**base, "body_pt": body})
        assert response.status_code == 400, body
        assert set(response.context["form"].errors) == {"body_pt"}
    # One language's text is fine, another's is nothing once sanitised: that one is named.
    response = client.post(url, {**base, "body_es": "<p>Hola</p>", "body_pt": "<script>x</script>"})
    assert set(response.context["form"].errors) == {"body_pt"}
    assert not Lesson.objects.exists()
    assert client.post(url, {**base, "body_pt": "<p>Olá<script>x</script></p>"}).status_code == 302
    assert Lesson.objects.get().body == {"pt": "<p>Olá</p>"}


# 8 and 9. Languages once each; credit hours as the reader writes them ----------------------------


def test_languages_chosen_twice_are_kept_once(
    client: Client, coordinator: Any, institution: Any
) -> None:
    client.force_login(coordinator)
    data = _course_data(institution, default_language="fr", title_fr="Droits",
                        languages=["fr", "fr", "pt", "pt", "fr"])  # fmt: skip
    response = client.post(reverse("courses:author_new"), data)
    assert response.status_code == 302
    assert Course.objects.get(code="dh-201").languages == "fr pt"


@pytest.mark.parametrize("language", ["fr", "es", "pt"])
def test_credit_hours_take_the_readers_decimal_comma(
    client: Client, coordinator: Any, institution: Any, language: str
) -> None:
    coordinator.preferred_language = language
    coordinator.save(update_fields=["preferred_language"])
    client.force_login(coordinator)
    for typed, code in (("1,5", "dh-301"), ("2.5", "dh-302")):
        response = client.post(
            reverse("courses:author_new"), _course_data(institution, code=code, credit_hours=typed)
        )
        assert response.status_code == 302, response.context["form"].errors
    assert Course.objects.get(code="dh-301").credit_hours == Decimal("1.5")
    assert Course.objects.get(code="dh-302").credit_hours == Decimal("2.5")
    # The page still offers a number field with its limits, its value written with a point.
    page = client.get(reverse("courses:author_course", args=["dh-301"])).text
    field = page[page.index('name="credit_hours"') - 200 : page.index('name="credit_hours"') + 200]
    assert 'type="number"' in field
    assert 'max="10000"' in field
    assert 'value="1.5"' in field
    # Too large is still refused, naming the field.
    refused = client.post(
        reverse("courses:author_new"),
        _course_data(institution, code="dh-303", credit_hours="10001,5"),
    )
    assert refused.status_code == 400
    assert set(refused.context["form"].errors) == {"credit_hours"}
