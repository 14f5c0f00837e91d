"""Issuing a run's certificates twice starts one job: a second start while the run's job is queued
or running returns that job (its page shows the progress), even when both starts arrive at once."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from certification import services
from certification.models import BulkIssuance
from tests.certification.factories import RunFactory

State = BulkIssuance.State


@pytest.fixture
def no_worker(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Jobs stay queued: nothing picks them up (tasks would otherwise run eagerly)."""
    queued: list[str] = []
    monkeypatch.setattr(services, "_queue_bulk", lambda job_id: queued.append(str(job_id)))
    return queued


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_posting_issue_twice_starts_one_job(
    run: Any, coordinator: Any, no_worker: list[str], django_capture_on_commit_callbacks: Any
) -> None:
    client = _client(coordinator)
    url = f"/certificates/runs/{run.pk}/issue"
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(url)
        second = client.post(url)
    job = BulkIssuance.objects.get(run=run)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == f"/certificates/bulk/{job.pk}"
    assert no_worker == [str(job.pk)]


@pytest.mark.django_db
@pytest.mark.parametrize("state", [State.QUEUED, State.RUNNING])
def test_a_start_while_a_job_is_active_returns_it(
    run: Any, coordinator: Any, no_worker: list[str], state: str
) -> None:
    active = BulkIssuance.objects.create(run=run, requested_by=coordinator, state=state)
    assert services.start_bulk_issuance(run=run, actor=coordinator) == active
    assert BulkIssuance.objects.filter(run=run).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("state", [State.DONE, State.FAILED])
def test_a_finished_job_does_not_stop_a_new_one(
    run: Any, coordinator: Any, no_worker: list[str], state: str
) -> None:
    finished = BulkIssuance.objects.create(run=run, requested_by=coordinator, state=state)
    other_run_job = BulkIssuance.objects.create(run=RunFactory(), requested_by=coordinator)
    job = services.start_bulk_issuance(run=run, actor=coordinator)
    assert job not in (finished, other_run_job)
    assert job.state == State.QUEUED


@pytest.mark.django_db
def test_resuming_a_failed_job_while_another_runs_does_not_run_two(
    run: Any, coordinator: Any, no_worker: list[str], django_capture_on_commit_callbacks: Any
) -> None:
    failed = BulkIssuance.objects.create(run=run, requested_by=coordinator, state=State.FAILED)
    running = BulkIssuance.objects.create(run=run, requested_by=coordinator, state=State.RUNNING)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.resume_bulk_issuance(job=failed) == running
    failed.refresh_from_db()
    assert failed.state == State.FAILED
    assert no_worker == []


@pytest.mark.django_db(transaction=True)
def test_two_starts_at_once_make_one_job(
    require_postgres: None, run: Any, coordinator: Any, no_worker: list[str]
) -> None:
    barrier = threading.Barrier(4)
    jobs: list[Any] = []

    def start() -> None:
        try:
            barrier.wait(5)
            jobs.append(services.start_bulk_issuance(run=run, actor=coordinator).pk)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            jobs.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert BulkIssuance.objects.filter(run=run).count() == 1
    assert jobs == [BulkIssuance.objects.get(run=run).pk] * 4
    assert len(no_worker) == 1
