"""Train-the-trainers: replicated runs by qualified trainers, supervision, officers reached."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
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
