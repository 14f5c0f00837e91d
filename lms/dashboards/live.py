"""Live updates: events pushed to the dashboards' WebSocket groups through the channel layer.

Each open dashboard joins the groups of its scope (everything for DPS, an institution, a run, a
course); an event goes to every group it belongs to, and the page adds it to its counters.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import threading
import time
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer

logger = logging.getLogger(__name__)

ALL_GROUP = "dashboards.all"


def institution_group(institution_id: int) -> str:
    return f"dashboards.institution.{institution_id}"


def run_group(run_id: int) -> str:
    return f"dashboards.run.{run_id}"


def course_group(course_id: int) -> str:
    return f"dashboards.course.{course_id}"


# What a dashboard that shows no people (a donor's: Lens.named is False) hears of an event: its
# kind and the counters it moves, nothing else at any depth (no name, email, badge number, user
# or enrolment id, nor the event's key, which holds an enrolment's or a certificate's id). An
# allow-list, so that a field a publisher adds later reaches such a lens only once listed here.
ANONYMOUS_EVENTS = frozenset({"enrolment", "certificate", "counters"})
ANONYMOUS_COUNTERS = frozenset({"enrolled", "completed", "certificates"})


def anonymous(payload: dict[str, Any]) -> dict[str, Any]:
    """`payload` as a lens that names no one hears it, built from the allow-lists above (each
    event of a batch too). A completion becomes "counters": it lists no one there."""
    if payload.get("event") == "batch":
        events = payload.get("events")
        return {
            "event": "batch",
            "events": [
                anonymous(item) for item in (events if isinstance(events, list) else [])
                if isinstance(item, dict)
            ],
        }  # fmt: skip
    kind = payload.get("event")
    heard: dict[str, Any] = {"event": kind if kind in ANONYMOUS_EVENTS else "counters"}
    counters = payload.get("counters")
    if isinstance(counters, dict):
        heard["counters"] = {
            name: value
            for name, value in counters.items()
            if name in ANONYMOUS_COUNTERS and type(value) is int
        }
    return heard


def groups_for(*, institution_path: str, run_id: int | None, course_id: int | None) -> list[str]:
    """Groups that should hear of an event about a learner of the institution at
    `institution_path` (and every institution above it) in a run of a course."""
    groups = [ALL_GROUP]
    groups += [
        institution_group(int(part)) for part in institution_path.split("/") if part.isdigit()
    ]
    if run_id:
        groups.append(run_group(run_id))
    if course_id:
        groups.append(course_group(course_id))
    return groups


class _Sender:
    """One event loop on a daemon thread per process that sends the updates in order.

    `async_to_sync(layer.group_send)` from a request or a worker made a new event loop, and
    with it a new Redis connection, for every group of every event (profiled at about 200 ms a
    certificate under load). Here the caller only appends to a queue (microseconds); the loop
    keeps its connection pool and sends the queue's messages one after the other. A forked
    worker (Celery prefork) starts its own thread on first use.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[tuple[Any, list[str], dict[str, Any]]] | None = None
        self._pending = 0

    def submit(self, layer: Any, groups: list[str], payload: dict[str, Any]) -> None:
        loop, queue = self._start()
        with self._lock:
            self._pending += 1
        loop.call_soon_threadsafe(queue.put_nowait, (layer, groups, payload))

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until the queued updates are sent (at exit, and for tests); False on timeout."""
        deadline = time.monotonic() + timeout
        while self._pending and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self._pending

    def _start(self) -> tuple[asyncio.AbstractEventLoop, asyncio.Queue[Any]]:
        with self._lock:
            if self._loop is None or self._queue is None or self._pid != os.getpid():
                loop = asyncio.new_event_loop()
                queue: asyncio.Queue[Any] = asyncio.Queue()
                ready = threading.Event()

                def run() -> None:
                    asyncio.set_event_loop(loop)
                    loop.create_task(self._drain(queue))
                    loop.call_soon(ready.set)
                    loop.run_forever()

                threading.Thread(target=run, name="dashboards-live", daemon=True).start()
                ready.wait(5)
                self._loop, self._queue, self._pid, self._pending = loop, queue, os.getpid(), 0
            return self._loop, self._queue

    async def _drain(self, queue: asyncio.Queue[Any]) -> None:
        while True:
            layer, groups, payload = await queue.get()
            try:
                for group in groups:
                    await layer.group_send(group, _message(group, payload))
            except Exception:  # the counters are already stored; only the live push is lost
                logger.exception("dashboards: live update not sent")
            finally:
                with self._lock:
                    self._pending -= 1


_sender = _Sender()
atexit.register(_sender.flush, 2.0)


# Events of one batch sent to a group in one message, at most this many (a page adds each).
BATCH = 100


def publish(groups: list[str], payload: dict[str, Any]) -> None:
    """Send `payload` to each group without waiting; a broken channel layer must not break the
    event. The in-memory layer (quick start, no Redis) is sent to in place: its queues belong to
    the loop that reads them."""
    layer = get_channel_layer()
    if layer is None:
        return
    _send(layer, groups, payload)


def publish_many(events: list[tuple[list[str], dict[str, Any]]]) -> None:
    """Send many events, each to its groups, as few messages as can be: each group gets one
    `{"event": "batch", "events": [...]}` per BATCH of the events it should hear, in order."""
    layer = get_channel_layer()
    if layer is None or not events:
        return
    if len(events) == 1:
        _send(layer, *events[0])
        return
    by_group: dict[str, list[dict[str, Any]]] = {}
    for groups, payload in events:
        for group in groups:
            by_group.setdefault(group, []).append(payload)
    for group, payloads in by_group.items():
        for start in range(0, len(payloads), BATCH):
            _send(layer, [group], {"event": "batch", "events": payloads[start : start + BATCH]})


def _message(group: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The channel-layer message of an event to `group`: the group is named so that a socket
    whose viewer's lens no longer holds it drops the event (DashboardConsumer)."""
    return {"type": "dashboard.event", "group": group, "payload": payload}


def _send(layer: Any, groups: list[str], payload: dict[str, Any]) -> None:
    if isinstance(layer, InMemoryChannelLayer):
        try:
            for group in groups:
                async_to_sync(layer.group_send)(group, _message(group, payload))
        except Exception:
            logger.exception("dashboards: live update not sent")
        return
    _sender.submit(layer, groups, payload)


def flush(timeout: float = 5.0) -> bool:
    """Wait for the updates published so far to reach the channel layer."""
    return _sender.flush(timeout)
