"""Closed-loop HTTP load with wrk (Debian's `wrk`): a C client that costs the 2-core machine far
less than Locust, so the server, not the load generator, sets the rate. Used for the server
comparison (loadtests.servers) and for the per-request ceilings of the capacity run.

Each request is drawn from a list of (method, path, headers, body) built in Python, so one run can
spread over many signed-in learners; a body containing `{uuid}` gets a fresh version 4 UUID per
request (xAPI statement ids must be new).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LUA = r"""
local requests = {}
local counter = 0
local statuses = {}

local function uuid4()
  local t = {}
  for i = 1, 32 do t[i] = string.format("%x", math.random(0, 15)) end
  t[13] = "4"
  t[17] = string.format("%x", 8 + math.random(0, 3))
  local s = table.concat(t)
  return s:sub(1, 8) .. "-" .. s:sub(9, 12) .. "-" .. s:sub(13, 16) .. "-" .. s:sub(17, 20) .. "-" .. s:sub(21, 32)
end

local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

init = function(args)
  math.randomseed(os.time() * 1000 + (tid or 0) * 7919 + math.floor(os.clock() * 1e6))
  local f = io.open(args[1], "r")
  for line in f:lines() do
    local method, path, headers, body = line:match("^(%S+)\t(%S+)\t(.-)\t(.*)$")
    local h = {}
    for k, v in headers:gmatch("([^\1]+)\1([^\2]*)\2") do h[k] = v end
    requests[#requests + 1] = {method = method, path = path, headers = h, body = body}
  end
  f:close()
end

request = function()
  counter = counter + 1
  local r = requests[(counter % #requests) + 1]
  local body = nil
  if r.body ~= "" then body = r.body:gsub("{uuid}", uuid4) end
  return wrk.format(r.method, r.path, r.headers, body)
end

response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests": %d, "duration_us": %d, "socket_errors": %d, "non2xx3xx": %d, ' ..
    '"p50_us": %d, "p95_us": %d, "p99_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.mean))
end
"""


@dataclass
class Request:
    path: str
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""

    def line(self) -> str:
        if any(c in self.body for c in "\t\n") or any(
            c in k + v for k, v in self.headers.items() for c in "\t\n\1\2"
        ):
            raise ValueError("tabs, newlines and \\1 \\2 are reserved in wrk request lines")
        headers = "".join(f"{k}\1{v}\2" for k, v in self.headers.items())
        return f"{self.method}\t{self.path}\t{headers}\t{self.body}"


@dataclass
class Result:
    name: str
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "rps": round(self.rps, 1), **{
            k: getattr(self, k) for k in ("requests", "seconds", "errors", "p50_ms", "p95_ms",
                                          "p99_ms", "mean_ms")}}  # fmt: skip


def available() -> bool:
    return shutil.which("wrk") is not None


def run(
    name: str,
    base_url: str,
    requests: list[Request],
    *,
    seconds: int = 10,
    connections: int = 16,
    threads: int = 1,
) -> Result:
    """Run wrk for `seconds` with `connections` open connections; errors count socket errors
    and answers other than 2xx/3xx."""
    if not available():
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    with tempfile.TemporaryDirectory() as tmp:
        script, listing = Path(tmp, "wrk.lua"), Path(tmp, "requests.tsv")
        script.write_text(LUA)
        listing.write_text("\n".join(r.line() for r in requests) + "\n")
        out = subprocess.run(  # noqa: S603 - our own arguments
            ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s",
             "--timeout", "10s", "-s", str(script), base_url, "--", str(listing)],
            capture_output=True, text=True, timeout=seconds + 60, check=False,
        )  # fmt: skip
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("WRK_RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed: {out.stdout[-500:]} {out.stderr[-500:]}")
    data = json.loads(line.removeprefix("WRK_RESULT "))
    return Result(
        name=name,
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        errors=data["socket_errors"] + data["non2xx3xx"],
        p50_ms=data["p50_us"] / 1000,
        p95_ms=data["p95_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        mean_ms=data["mean_us"] / 1000,
    )
