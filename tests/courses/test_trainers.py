"""Train-the-trainers: replicated runs by qualified trainers, supervision, officers reached."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from courses import selectors, services
from courses.models import CourseRun, Enrollment, SupervisionObservation, TrainerQualification
from tests.courses.factories import RunFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_qualified_trainer_replicates_a_run_under_supervision(
    client: Client, coordinator: Any, institution: Any
) -> None:
    source = RunFactory(qualifies_trainers=True)
    trainer = UserFactory(institution=institution)
    expert = UserFactory()
    with pytest.raises(ValidationError):
        services.create_replicated_run(
            source=source, trainer=trainer, code="rep-1", supervisor=expert, actor=coordinator
        )
    TrainerQualification.objects.create(user=trainer, course=source.course, qualified_by_run=source)
    replica = services.create_replicated_run(
        source=source, trainer=trainer, code="rep-1", supervisor=expert, actor=coordinator
    )
    assert replica.host_institution_id == institution.pk
    assert replica.mode == CourseRun.Mode.ONSITE
    for _ in range(3):
        Enrollment.objects.create(user=UserFactory(), run=replica, version=replica.version)
    CourseRun.objects.filter(pk=replica.pk).update(active_count=3)
    assert selectors.officers_reached_by_replication(run=source) == 3

    client.force_login(expert)
    url = reverse("courses:observe", args=[replica.code])
    response = client.post(url, {"trainer": trainer.pk, "rating": "4", "feedback": "Clear."})
    assert response.status_code == 302
    observation = SupervisionObservation.objects.get(run=replica)
    assert (observation.trainer_id, observation.rating) == (trainer.pk, 4)


def test_only_the_supervisor_records_observations(instructor: Any) -> None:
    run = RunFactory(supervisor=UserFactory())
    with pytest.raises(Exception, match="supervising expert"):
        services.record_observation(
            run=run, supervisor=instructor, trainer=instructor, feedback="x"
        )


# The pages: "Deliver this course at my institution" and the supervising expert's pages.


@pytest.fixture
def ttt(institution: Any) -> dict[str, Any]:
    """A train-the-trainers run with its lead instructor (an eligible expert), and a trainer of
    `institution` it qualified."""
    from courses.models import RunInstructor

    source = RunFactory(qualifies_trainers=True)
    expert = UserFactory(full_name="Expert Eligible")
    RunInstructor.objects.create(run=source, user=expert, role=RunInstructor.Role.LEAD)
    trainer = UserFactory(institution=institution)
    TrainerQualification.objects.create(user=trainer, course=source.course, qualified_by_run=source)
    return {"source": source, "expert": expert, "trainer": trainer}


def _plan(expert: Any, **extra: Any) -> dict[str, Any]:
    return {
        "mode": "onsite", "starts_on": "2027-03-01", "ends_on": "2027-03-05",
        "venue": "Academia regional", "capacity": "30", "language": "es",
        "supervisor": str(expert.pk), **extra,
    }  # fmt: skip


def test_a_qualified_trainer_plans_a_replicated_run_from_the_page(
    client: Client, ttt: dict[str, Any], institution: Any, other_institution: Any
) -> None:
    from courses.models import RunInstructor

    source, expert, trainer = ttt["source"], ttt["expert"], ttt["trainer"]
    client.force_login(trainer)
    course_page = client.get(reverse("courses:course", args=[source.course.code])).text
    url = reverse("courses:deliver", args=[source.course.code])
    assert url in course_page
    form = client.get(url)
    assert form.status_code == 200
    assert "Expert Eligible" in form.text
    assert "<legend>" in form.text
    # Whatever the form says about the host, the run is held at the trainer's institution.
    response = client.post(url, _plan(expert, host_institution=str(other_institution.pk)))
    assert response.status_code == 302
    run = CourseRun.objects.get(replicated_from=source)
    assert response["Location"] == reverse("courses:roster", args=[run.code])
    assert run.host_institution_id == institution.pk
    assert (run.supervisor_id, run.capacity, run.venue) == (expert.pk, 30, "Academia regional")
    assert RunInstructor.objects.filter(run=run, user=trainer, role="trainer").exists()
    # The trainer now reaches the roster of their run.
    assert client.get(response["Location"]).status_code == 200


def test_the_plan_is_checked_field_by_field(client: Client, ttt: dict[str, Any]) -> None:
    source, trainer = ttt["source"], ttt["trainer"]
    client.force_login(trainer)
    url = reverse("courses:deliver", args=[source.course.code])
    outsider = UserFactory()
    bad = _plan(outsider, ends_on="2027-02-01", capacity="0")
    response = client.post(url, bad)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) == {"ends_on", "capacity", "supervisor"}
    assert 'class="error-summary"' in response.text
    assert 'aria-invalid="true"' in response.text
    # The trainer cannot name themself as supervisor either (not in the eligible list).
    assert client.post(url, _plan(trainer)).status_code == 400
    assert not CourseRun.objects.filter(replicated_from=source).exists()


def test_who_may_not_plan_a_replicated_run(
    client: Client, ttt: dict[str, Any], institution: Any, other_institution: Any
) -> None:
    source, expert = ttt["source"], ttt["expert"]
    url = reverse("courses:deliver", args=[source.course.code])
    # An officer who is not qualified.
    client.force_login(UserFactory(institution=institution))
    assert client.get(url).status_code == 403
    assert client.post(url, _plan(expert)).status_code == 403
    # A trainer qualified for another course.
    other_course_trainer = UserFactory(institution=institution)
    other = RunFactory(qualifies_trainers=True)
    TrainerQualification.objects.create(user=other_course_trainer, course=other.course)
    client.force_login(other_course_trainer)
    assert client.post(url, _plan(expert)).status_code == 403
    # Anonymous people sign in first.
    client.logout()
    assert client.get(url).status_code == 302
    assert not CourseRun.objects.filter(replicated_from=source).exists()


def test_another_institutions_replicated_run_is_refused(
    client: Client, ttt: dict[str, Any], other_institution: Any
) -> None:
    """A trainer reaches their own replicated run, not one another trainer holds elsewhere;
    and no coordinator of another institution plans runs for them."""
    source, expert, trainer = ttt["source"], ttt["expert"], ttt["trainer"]
    foreign_trainer = UserFactory(institution=other_institution)
    TrainerQualification.objects.create(user=foreign_trainer, course=source.course)
    foreign = services.create_replicated_run(
        source=source, trainer=foreign_trainer, supervisor=expert, actor=foreign_trainer
    )
    assert foreign.host_institution_id == other_institution.pk
    client.force_login(trainer)
    assert client.get(reverse("courses:roster", args=[foreign.code])).status_code == 403
    from lms.accounts.models import RoleAssignment

    outsider = UserFactory(institution=other_institution)
    RoleAssignment.objects.create(user=outsider, role="coordinator", institution=other_institution)
    with pytest.raises(PermissionDenied):
        services.create_replicated_run(
            source=source, trainer=trainer, supervisor=expert, actor=outsider
        )


def test_the_supervisor_lists_their_runs_and_records_observations(
    client: Client, ttt: dict[str, Any]
) -> None:
    source, expert, trainer = ttt["source"], ttt["expert"], ttt["trainer"]
    run = services.create_replicated_run(
        source=source, trainer=trainer, supervisor=expert, actor=trainer
    )
    other = services.create_replicated_run(
        source=source, trainer=trainer, supervisor=UserFactory(), actor=trainer
    )
    client.force_login(expert)
    listing = client.get(reverse("courses:supervision")).text
    assert run.code in listing
    assert other.code not in listing
    url = reverse("courses:supervise_run", args=[run.code])
    assert client.get(url).status_code == 200
    bad = client.post(url, {"trainer": str(trainer.pk), "rating": "9", "feedback": ""})
    assert bad.status_code == 400
    assert set(bad.context["form"].errors) == {"rating", "feedback"}
    response = client.post(
        url, {"trainer": str(trainer.pk), "rating": "5", "feedback": "Clear, well paced."}
    )
    assert response.status_code == 302
    observation = SupervisionObservation.objects.get(run=run)
    assert (observation.supervisor_id, observation.trainer_id, observation.rating) == (
        expert.pk, trainer.pk, 5,
    )  # fmt: skip
    assert "Clear, well paced." in client.get(url).text
    # The supervisor of another run is refused on this one, and so is the trainer.
    client.force_login(other.supervisor)
    assert client.get(url).status_code == 403
    assert client.post(url, {"trainer": str(trainer.pk), "feedback": "x"}).status_code == 403
    client.force_login(trainer)
    assert client.get(url).status_code == 403
    assert SupervisionObservation.objects.filter(run=run).count() == 1


def test_the_supervision_page_queries_do_not_grow(
    client: Client, ttt: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    source, expert, trainer = ttt["source"], ttt["expert"], ttt["trainer"]
    client.force_login(expert)
    url = reverse("courses:supervision")
    for _ in range(2):
        services.create_replicated_run(
            source=source, trainer=trainer, supervisor=expert, actor=trainer
        )
    client.get(url)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as baseline:
        client.get(url)
    for _ in range(5):
        services.create_replicated_run(
            source=source, trainer=trainer, supervisor=expert, actor=trainer
        )
    with django_assert_max_num_queries(len(baseline)):
        assert client.get(url).status_code == 200
