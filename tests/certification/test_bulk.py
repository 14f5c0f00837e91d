"""Bulk issuance of a whole run with live progress over the WebSocket, and resuming a job."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connections

from certification import services, signals
from certification.models import BulkIssuance, Certificate
from certification.routing import websocket_urlpatterns
from tests.certification.factories import completed
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]
application = URLRouter(websocket_urlpatterns)


@pytest.fixture(autouse=True)
def _redis_layer(require_redis: str, require_postgres: None) -> None:
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "channels_redis.core.RedisChannelLayer"


def test_progress_reaches_the_websocket(run: Any, coordinator: Any, institution: Any) -> None:
    for _ in range(5):
        completed(UserFactory(institution=institution), run)
    job = BulkIssuance.objects.create(run=run, requested_by=coordinator)

    async def scenario() -> list[dict[str, Any]]:
        socket = WebsocketCommunicator(application, f"/ws/certification/bulk/{job.pk}/")
        socket.scope["user"] = coordinator
        connected, _code = await socket.connect()
        assert connected
        received = [await socket.receive_json_from(timeout=5)]
        await database_sync_to_async(services.run_bulk_issuance)(job_id=job.pk, batch_size=2)
        while received[-1]["state"] != "done":
            received.append(await socket.receive_json_from(timeout=10))
        await socket.disconnect()
        return received

    messages = async_to_sync(scenario)()
    assert messages[0]["state"] == "queued"
    done = [message["done"] for message in messages if message["state"] != "queued"]
    assert done == sorted(done)
    assert done[0] == 0
    assert len(done) >= 4  # the start and one message a batch of two (3 batches)
    assert done[-1] == 5
    assert messages[-1] == {**messages[-1], "state": "done", "total": 5, "percent": 100}
    assert Certificate.objects.filter(run=run).count() == 5


def test_failed_job_resumes_without_duplicates(
    run: Any, coordinator: Any, institution: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(4):
        completed(UserFactory(institution=institution), run)
    job = BulkIssuance.objects.create(run=run, requested_by=coordinator)
    real = services.issue_course_certificates
    calls = {"n": 0}

    def flaky(**kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("storage unavailable")
        return real(**kwargs)

    monkeypatch.setattr(services, "issue_course_certificates", flaky)
    with pytest.raises(RuntimeError):
        services.run_bulk_issuance(job_id=job.pk, batch_size=1)
    job.refresh_from_db()
    assert job.state == "failed"
    assert "storage unavailable" in job.error
    assert (job.issued, job.total) == (2, 4)
    assert Certificate.objects.filter(run=run).count() == 2
    services.run_bulk_issuance(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == "done"
    assert (job.already, job.issued, job.total) == (2, 2, 4)
    assert Certificate.objects.filter(run=run).count() == 4


def test_websocket_refused_to_others(run: Any, other_institution: Any) -> None:
    job = BulkIssuance.objects.create(run=run)
    stranger = UserFactory(institution=other_institution)

    async def scenario() -> Any:
        socket = WebsocketCommunicator(application, f"/ws/certification/bulk/{job.pk}/")
        socket.scope["user"] = stranger
        await socket.connect()
        closed = await socket.receive_output()
        await socket.disconnect()
        return closed

    assert async_to_sync(scenario)() == {"type": "websocket.close", "code": 4403}


def test_batches_fan_out_to_worker_processes(
    celery_worker: Any, run: Any, coordinator: Any, institution: Any
) -> None:
    """With a broker each batch is a task of its own (any worker process takes it); the job
    still issues one certificate per learner and reaches done with exact counts."""
    enrollments = [completed(UserFactory(institution=institution), run) for _ in range(7)]
    services.issue_course_certificate(enrollment_id=enrollments[0].pk)  # issued before the job
    job = BulkIssuance.objects.create(run=run, requested_by=coordinator)
    started = services.run_bulk_issuance(job_id=job.pk, batch_size=2, fan_out=True)
    assert (started.state, started.total, started.already) == ("running", 7, 1)
    deadline = time.monotonic() + 120
    while job.state != "done":
        assert time.monotonic() < deadline, f"job stuck: {job.state} {job.done}/{job.total}"
        time.sleep(0.2)
        job.refresh_from_db()
    assert (job.total, job.already, job.issued, job.error) == (7, 1, 6, "")
    assert Certificate.objects.filter(run=run).count() == 7
    assert Certificate.objects.filter(run=run).values("user").distinct().count() == 7


def test_a_retried_batch_counts_nothing_twice(run: Any, coordinator: Any, institution: Any) -> None:
    """A redelivered batch (its worker died after committing) issues nothing new and does not
    advance the job's counter again."""
    ids = [completed(UserFactory(institution=institution), run).pk for _ in range(3)]
    job = BulkIssuance.objects.create(run=run, requested_by=coordinator)
    services.run_bulk_issuance(job_id=job.pk, batch_size=3, fan_out=False)
    job.refresh_from_db()
    assert (job.state, job.issued, job.total) == ("done", 3, 3)
    services.issue_bulk_batch(job_id=job.pk, enrollment_ids=ids)
    job.refresh_from_db()
    assert (job.state, job.issued, job.already, job.total) == ("done", 3, 0, 3)
    assert Certificate.objects.filter(run=run).count() == 3


def test_overlapping_batches_racing_issue_one_each(
    run: Any, institution: Any, require_postgres: None
) -> None:
    """Two workers given overlapping batches at the same moment: one certificate per learner,
    and both get the same certificates back."""
    ids = [completed(UserFactory(institution=institution), run).pk for _ in range(6)]
    barrier = threading.Barrier(2)
    results: list[dict[int, Any]] = []

    def worker(batch: list[int]) -> None:
        barrier.wait()
        try:
            results.append(services.issue_course_certificates(enrollment_ids=batch))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(batch,)) for batch in (ids[:4], ids[2:][::-1])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2
    assert Certificate.objects.filter(run=run).count() == 6
    for enrollment_id in ids[2:4]:
        assert results[0][enrollment_id].pk == results[1][enrollment_id].pk


def test_batch_queries_do_not_grow_with_its_size(
    run: Any,
    institution: Any,
    django_assert_max_num_queries: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """The per-run reads are made once a batch and the writes are multi-row: 40 certificates
    take the same number of queries as a handful (no query per learner), and the other apps
    hear of the batch once (their receivers' own queries are theirs: not counted here)."""
    ids = [completed(UserFactory(institution=institution), run).pk for _ in range(41)]
    services.issue_course_certificate(enrollment_id=ids[0])  # lays the run's page out
    heard: list[list[Any]] = []

    def receiver(sender: Any, certificates: list[Any], **kwargs: Any) -> None:
        heard.append(certificates)

    saved = signals.certificates_issued.receivers
    signals.certificates_issued.receivers = []
    signals.certificates_issued.sender_receivers_cache.clear()
    signals.certificates_issued.connect(receiver, weak=False)
    try:
        with django_assert_max_num_queries(16), django_capture_on_commit_callbacks(execute=True):
            issued = services.issue_course_certificates(enrollment_ids=ids[1:])
    finally:
        signals.certificates_issued.receivers = saved
        signals.certificates_issued.sender_receivers_cache.clear()
    assert [len(batch) for batch in heard] == [40]
    assert len(issued) == 40
    assert len({certificate.code for certificate in issued.values()}) == 40
    assert len({certificate.status_index for certificate in issued.values()}) == 40


def test_job_finishes_when_a_learner_is_no_longer_completed(
    run: Any, coordinator: Any, institution: Any
) -> None:
    """An enrolment reopened between the job's start and its batch leaves the job's total, so
    the job still reaches done."""
    from courses.models import Enrollment

    enrollments = [completed(UserFactory(institution=institution), run) for _ in range(3)]
    job = BulkIssuance.objects.create(run=run, requested_by=coordinator)
    job, pending = services._reset_job(job.pk)
    assert (job.total, len(pending)) == (3, 3)
    Enrollment.objects.filter(pk=enrollments[1].pk).update(status=Enrollment.Status.ACTIVE)
    job = services.issue_bulk_batch(job_id=job.pk, enrollment_ids=pending)
    assert (job.state, job.issued, job.total) == ("done", 2, 2)
    assert Certificate.objects.filter(run=run).count() == 2


def test_a_failing_receiver_does_not_fail_issuing(
    run: Any, coordinator: Any, institution: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Once committed the certificates are issued: another app's receiver that fails is logged
    and the bulk job still ends done."""
    for _ in range(2):
        completed(UserFactory(institution=institution), run)

    def broken(sender: Any, certificates: list[Any], **kwargs: Any) -> None:
        raise RuntimeError("dashboards unavailable")

    signals.certificates_issued.connect(broken, weak=False, dispatch_uid="test.broken")
    try:
        job = BulkIssuance.objects.create(run=run, requested_by=coordinator)
        job = services.run_bulk_issuance(job_id=job.pk, fan_out=False)
    finally:
        signals.certificates_issued.disconnect(dispatch_uid="test.broken")
    assert (job.state, job.issued, job.error) == ("done", 2, "")
    assert "dashboards unavailable" in caplog.text
