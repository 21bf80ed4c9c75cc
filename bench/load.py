"""HTTP load with `wrk` (Debian's package, `make wrk`), and the server processes it loads.

wrk is a C load generator: one thread, keep-alive connections, HdrHistogram latencies. A small
Lua script per target sets the request and counts answers that are not a 200 without
`"errors"`, so a run that measured errors says so. Every run is bounded by `-d` (and killed
if wrk has not exited 30 s after it); every server listens on 127.0.0.1 and is stopped by
its process id.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.servers import free_port

STARTUP_TIMEOUT = 90.0
WRK_GRACE = 30.0


def wrk_unavailable_reason() -> str | None:
    if shutil.which("wrk") is None:
        return "wrk is not installed (`make wrk` installs Debian's package as root)"
    return None


@dataclass(frozen=True)
class Target:
    """One request shape: the same request every time, or requests cycling over `bodies`."""

    name: str
    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    bodies: Sequence[str] = ()


@dataclass(frozen=True)
class Load:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    bad: int
    """Answers that were not a 200, or carried `"errors"`; plus socket errors."""

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def good_rps(self) -> float:
        """Answers per second that were a 200 without errors."""
        return max(self.requests - self.bad, 0) / self.seconds if self.seconds else 0.0


LUA_RESULT = r"""
bad = 0
response = function(status, hdrs, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) then bad = bad + 1 end
end
local threads = {}
setup = function(thread) table.insert(threads, thread) end
done = function(summary, latency, requests)
  local e = summary.errors
  local b = e.connect + e.read + e.write + e.timeout
  for _, t in ipairs(threads) do b = b + t:get("bad") end
  io.write(string.format(
    'BENCHJSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "bad": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), b))
end
"""


def _lua_string(text: str) -> str:
    return "[==[" + text + "]==]"


def lua_script(target: Target) -> str:
    headers = ", ".join(
        f"[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in target.headers.items()
    )
    lines = [f"local headers = {{{headers}}}"]
    if len(target.bodies) > 1:
        bodies = ", ".join(_lua_string(b) for b in target.bodies)
        lines += [
            f"local bodies = {{{bodies}}}",
            "local n = 0",
            "request = function()",
            "  n = n + 1",
            f"  return wrk.format({_lua_string(target.method)}, {_lua_string(target.path)},"
            " headers, bodies[(n % #bodies) + 1])",
            "end",
        ]
    else:
        lines += [
            f"wrk.method = {_lua_string(target.method)}",
            f"wrk.path = {_lua_string(target.path)}",
            "for k, v in pairs(headers) do wrk.headers[k] = v end",
        ]
        if target.bodies:
            lines.append(f"wrk.body = {_lua_string(target.bodies[0])}")
    lines.append(LUA_RESULT)
    return "\n".join(lines) + "\n"


def run_wrk(base_url: str, target: Target, connections: int, seconds: float) -> Load:
    """`wrk -t1 -c<connections> -d<seconds>`: one load thread (the machine has few cores)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua_script(target))
    try:
        command = [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            script.name,
            base_url,
        ]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=seconds + WRK_GRACE, check=False
        )
    finally:
        os.unlink(script.name)
    for line in done.stdout.splitlines():
        if line.startswith("BENCHJSON "):
            raw = json.loads(line.removeprefix("BENCHJSON "))
            return Load(
                requests=raw["requests"],
                seconds=raw["duration_us"] / 1e6,
                p50_ms=raw["p50_us"] / 1000.0,
                p99_ms=raw["p99_us"] / 1000.0,
                bad=raw["bad"],
            )
    raise RuntimeError(f"wrk gave no result:\n{done.stdout}\n{done.stderr}")


# Servers ----------------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


def tree_cpu_seconds(pid: int) -> float:
    """CPU time (user + system, all threads) of a process and its descendants (uvicorn's
    workers), from /proc; 0 where /proc is missing."""
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        pending += _children(current)
    return total


@dataclass
class Served:
    """A server process on 127.0.0.1 whose output goes to a file (not through this process)."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(
        cls,
        name: str,
        command: Sequence[str],
        env: Mapping[str, str],
        log_dir: Path,
        port: int,
        cwd: Path | None = None,
    ) -> Served:
        environment = {
            k: v for k, v in os.environ.items() if not k.startswith(("SESSIONGRAPH_", "AWS_"))
        }
        environment.update(env)
        log_path = log_dir / f"{name.replace(' ', '_').replace(',', '')}.log"
        with open(log_path, "wb") as output:
            process = subprocess.Popen(
                list(command), stdout=output, stderr=subprocess.STDOUT, env=environment, cwd=cwd
            )
        served = cls(name, process, port, log_path)
        try:
            served.wait_ready()
        except BaseException:
            served.stop()
            raise
        return served

    def wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            try:
                if self.get("/healthz")[0] == 200:
                    return
            except OSError:
                pass
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log_path.read_text()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not answer:\n{self.log_path.read_text()}")
            time.sleep(0.2)  # polling a starting process

    def request(
        self,
        method: str,
        path: str,
        body: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, Any]:
        request = urllib.request.Request(
            self.base_url + path,
            data=body.encode() if body is not None else None,
            method=method,
            headers=dict(headers or {}),
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                status, raw = answer.status, answer.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode("utf-8", "replace")

    def get(self, path: str) -> tuple[int, Any]:
        return self.request("GET", path)

    def call(self, target: Target) -> tuple[int, Any]:
        return self.request(
            target.method, target.path, target.bodies[0] if target.bodies else None, target.headers
        )

    def cpu_seconds(self) -> float:
        return tree_cpu_seconds(self.process.pid)

    def stop(self, timeout: float = 15.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=timeout)


def sessiongraph_serve(
    name: str,
    *,
    endpoint_url: str,
    table_name: str,
    admin_token: str,
    workers: int,
    log_dir: Path,
    env: Mapping[str, str] | None = None,
    tree: Path | None = None,
) -> Served:
    """`sessiongraph serve` of this tree, or of another checkout `tree` (run from there, its
    packages come first on `sys.path`), for before/after comparisons."""
    port = free_port()
    command = [sys.executable, "-m", "server.cli", "serve", "--port", str(port)]
    command += ["--endpoint-url", endpoint_url, "--table-name", table_name]
    if workers > 1:
        command += ["--workers", str(workers)]
    environment = {"SESSIONGRAPH_ADMIN_TOKEN": admin_token, **(env or {})}
    return Served.start(name, command, environment, log_dir, port, cwd=tree)


def rest_serve(
    name: str,
    *,
    endpoint_url: str,
    table_name: str,
    admin_token: str,
    workers: int,
    log_dir: Path,
    env: Mapping[str, str] | None = None,
) -> Served:
    """bench/rest_app.py under uvicorn's command line: log level info, uvicorn's access line
    on (the reference is a plain endpoint under uvicorn's defaults; `serve` writes its own
    access line instead, bench/README.md fifth pass), no proxy headers as for `serve`."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "bench.rest_app:create_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "info"]
    command += ["--no-proxy-headers"]
    if workers > 1:
        command += ["--workers", str(workers)]
    environment = {
        "SESSIONGRAPH_ADMIN_TOKEN": admin_token,
        "SESSIONGRAPH_STORE": "endpoint",
        "SESSIONGRAPH_ENDPOINT_URL": endpoint_url,
        "SESSIONGRAPH_TABLE_NAME": table_name,
        **(env or {}),
    }
    return Served.start(name, command, environment, log_dir, port)


def serve_supports_workers() -> bool:
    """Whether this tree's `sessiongraph serve` has `--workers` (issue 6)."""
    done = subprocess.run(
        [sys.executable, "-m", "server.cli", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return "--workers" in done.stdout
