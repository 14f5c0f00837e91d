"""Bulk issuance of a whole run with live progress over the WebSocket, and resuming a job."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings

from certification import services
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
    done = [message["done"] for message in messages if message["state"] == "running"]
    assert done == sorted(done)
    assert done[-1] == 5
    assert messages[-1] == {**messages[-1], "state": "done", "total": 5, "percent": 100}
    assert Certificate.objects.filter(run=run).count() == 5


def test_failed_job_resumes_without_duplicates(
    run: Any, coordinator: Any, institution: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(4):
        completed(UserFactory(institution=institution), run)
    job = BulkIssuance.objects.create(run=run, requested_by=coordinator)
    real = services.issue_course_certificate
    calls = {"n": 0}

    def flaky(**kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("storage unavailable")
        return real(**kwargs)

    monkeypatch.setattr(services, "issue_course_certificate", flaky)
    with pytest.raises(RuntimeError):
        services.run_bulk_issuance(job_id=job.pk, batch_size=1)
    job.refresh_from_db()
    assert job.state == "failed"
    assert "storage unavailable" in job.error
    assert Certificate.objects.filter(run=run).count() == 2
    services.run_bulk_issuance(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == "done"
    assert (job.already, job.issued, job.total) == (2, 2, 4)
    assert Certificate.objects.filter(run=run).count() == 4


def test_websocket_refused_to_others(run: Any, other_institution: Any) -> None:
    job = BulkIssuance.objects.create(run=run)
    stranger = UserFactory(institution=other_institution)

    async def scenario() -> bool:
        socket = WebsocketCommunicator(application, f"/ws/certification/bulk/{job.pk}/")
        socket.scope["user"] = stranger
        connected, _code = await socket.connect()
        return bool(connected)

    assert not async_to_sync(scenario)()
