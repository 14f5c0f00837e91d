"""Run a few lines of a Locust scenario against a live server, in a subprocess: importing Locust
patches the standard library with gevent, which the test process must not have."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

# Lines a script puts after making its Locust `env`: `answers` then fills with [name, status,
# failed] for every request its users send.
RECORD_REQUESTS = """
answers = []
env.events.request.add_listener(
    lambda name, response, exception, **kw: answers.append(
        [name, response.status_code if response is not None else None, exception is not None]
    )
)
"""


def run_script(script: str, pool: dict[str, Any], base_url: str, tmp_path: Path) -> Any:
    """Run `script` (its argv[1] is the server's address) with `pool` as the load test's pool
    file; returns the JSON its last printed line holds."""
    path = tmp_path / "pool.json"
    path.write_text(json.dumps(pool))
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script, base_url],
        cwd=root, env={"LOADTEST_POOL": str(path), "PYTHONPATH": str(root), "PATH": "/usr/bin"},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
