"""WebSocket consumer: the live progress of a bulk issuance job."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from certification.models import BulkIssuance
from certification.services import bulk_group, job_message
from lms.accounts.permissions import has_perm
from lms.sockets import NOT_ALLOWED, SessionBound, refuse


class BulkProgressConsumer(SessionBound, AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    """Sends {"type": "bulk.progress", ...} messages for one job to those who may issue its run."""

    group = ""

    @database_sync_to_async
    def _job_if_allowed(self, job_id: str) -> BulkIssuance | None:
        job = BulkIssuance.objects.select_related("run").filter(pk=job_id).first()
        user = self.scope.get("user")
        if job is None or user is None or not has_perm(user, "certification.issue_run", job.run):
            return None
        return job

    async def connect(self) -> None:
        job_id = self.scope["url_route"]["kwargs"]["job_id"]
        job = await self._job_if_allowed(str(job_id))
        if job is None:
            await refuse(self, NOT_ALLOWED)
            return
        self.group = bulk_group(job.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.join_session()
        await self.accept()
        await self.send_json(job_message(job))

    async def disconnect(self, code: int) -> None:
        await self.leave_session()
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def bulk_progress(self, event: dict[str, Any]) -> None:
        await self.send_json(event)
