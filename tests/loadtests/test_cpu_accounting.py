"""The load test's CPU accounting (loadtests.run.cpu_seconds, cpu_per_request) and its table in
docs/CAPACITY.md (loadtests.capacity.cpu_table)."""

from __future__ import annotations

import subprocess
import sys
import time

from loadtests.capacity import cpu_table
from loadtests.run import cpu_per_request, cpu_seconds


def test_a_busy_process_of_a_group_is_counted_in_its_group() -> None:
    before = cpu_seconds()
    # a process whose command line names a group, burning 0.35 s of CPU (the kernel counts it in
    # 10 ms ticks, so a burner of exactly 0.3 s could be read as 0.29 s and never reach the bar)
    burner = subprocess.Popen(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", "# redis-server\nimport time\nt = time.process_time()\n"
         "while time.process_time() - t < 0.35: pass\ntime.sleep(1)"],
    )  # fmt: skip
    try:
        time.sleep(0.1)
        started = cpu_seconds()  # the burner is running: counted from zero
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            after = cpu_seconds()
            mine = after["_processes"].get(("redis", burner.pid), 0.0)
            if mine >= 0.3:
                break
            time.sleep(0.05)
    finally:
        burner.wait(timeout=10)
    assert ("redis", burner.pid) not in before["_processes"]
    assert ("redis", burner.pid) in started["_processes"]
    per_request = cpu_per_request(before, after, requests=100)
    assert 3.0 <= per_request["redis"] <= 6.0  # ≥ 0.3 s over 100 requests, in core-ms
    assert set(per_request) >= {"web", "database", "redis", "worker", "wrk", "other"}
    assert all(value >= 0 for value in per_request.values())
    # the interrupts', the hypervisor's and the kernel threads' parts of "other" are within it
    parts = per_request["other_irq"] + per_request["other_steal"] + per_request["other_kernel"]
    assert parts <= per_request["other"] + 0.003
    # still running at the last reading: not yet among this process's waited-for children
    assert per_request["wrk"] < 1.0


def test_a_load_generator_that_ended_is_counted_as_wrk() -> None:
    before = cpu_seconds()
    subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", "import time\nt = time.process_time()\n"
         "while time.process_time() - t < 0.35: pass"],
        check=True,
    )  # fmt: skip
    after = cpu_seconds()
    assert 3.0 <= cpu_per_request(before, after, requests=100)["wrk"] <= 6.0
    assert cpu_per_request(before, after, requests=0) == {}


def test_the_table_gives_each_group_and_the_total() -> None:
    rows = [
        {"name": "minimal view (ceiling)", "cpu_ms": {"web": 0.8, "wrk": 0.1, "other": 0.05}},
        {"name": "xapi statement POST", "cpu_ms": {"web": 1.9, "database": 0.25, "redis": 0.12,
                                                   "worker": 0.4, "wrk": 0.1, "other": 0.1}},
        {"name": "measured before the accounting", "rps": 1.0},
    ]  # fmt: skip
    lines = cpu_table(rows)
    text = "\n".join(lines)
    assert "| request | web | database | redis | worker | wrk | other | total |" in text
    assert "| minimal view (ceiling) | 0.80 | 0.00 | 0.00 | 0.00 | 0.10 | 0.05 | 0.95 |" in text
    assert "| xapi statement POST | 1.90 | 0.25 | 0.12 | 0.40 | 0.10 | 0.10 | 2.87 |" in text
    assert "measured before the accounting" not in text
    assert cpu_table([{"name": "old run", "rps": 1.0}]) == []
