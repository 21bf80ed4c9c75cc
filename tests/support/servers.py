"""Real `sessiongraph serve` processes for tests that cross processes (several servers on one
DynamoDB Local table), driven over real HTTP, stopped by their process id.

    with ServerProcess.start(endpoint_url=..., table_name=..., admin_token=...) as server:
        server.graphql("{ viewer { sessionId } }", token=token)

Every server listens on 127.0.0.1 only. Its output (stdout and stderr together) is kept in
`server.output`, so a test can scan what it logged.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

STARTUP_TIMEOUT = 60.0
REQUEST_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: Any

    @property
    def data(self) -> Any:
        return self.body.get("data") if isinstance(self.body, dict) else None

    @property
    def codes(self) -> list[str]:
        errors = self.body.get("errors") if isinstance(self.body, dict) else None
        return [e.get("extensions", {}).get("code") for e in errors or []]

    def ok(self) -> Any:
        assert self.status == 200 and not self.codes, (self.status, self.body)
        return self.data


@dataclass
class ServerProcess:
    process: subprocess.Popen[str]
    port: int
    output: list[str] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(
        cls,
        *,
        endpoint_url: str | None = None,
        table_name: str | None = None,
        admin_token: str | None = None,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        ready_path: str = "/healthz",
    ) -> ServerProcess:
        """Start `sessiongraph serve` and wait until `ready_path` answers 200."""
        port = free_port()
        environment = {
            k: v for k, v in os.environ.items() if not k.startswith(("SESSIONGRAPH_", "AWS_"))
        }
        if admin_token is not None:
            environment["SESSIONGRAPH_ADMIN_TOKEN"] = admin_token
        environment.update(env or {})
        command = [sys.executable, "-m", "server.cli", "serve", "--port", str(port)]
        if endpoint_url is not None:
            command += ["--endpoint-url", endpoint_url]
        if table_name is not None:
            command += ["--table-name", table_name]
        process = subprocess.Popen(
            [*command, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=environment,
            text=True,
        )
        server = cls(process, port)
        threading.Thread(target=server._drain, daemon=True).start()
        try:
            server._wait_ready(ready_path)
        except BaseException:
            server.stop()
            raise
        return server

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:  # a full pipe would block the server
            self.output.append(line)

    def _wait_ready(self, path: str) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            try:
                if self.get(path).status == 200:
                    return
            except OSError:
                pass
            if self.process.poll() is not None:
                raise RuntimeError("sessiongraph serve exited:\n" + "".join(self.output))
            if time.monotonic() > deadline:
                raise RuntimeError("sessiongraph serve did not answer:\n" + "".join(self.output))
            time.sleep(0.1)  # polling a starting process, not a race

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = REQUEST_TIMEOUT,
    ) -> Response:
        request = urllib.request.Request(
            self.base_url + path, data=body, method=method, headers=dict(headers or {})
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                status, got, raw = answer.status, dict(answer.headers), answer.read()
        except urllib.error.HTTPError as error:
            status, got, raw = error.code, dict(error.headers), error.read()
        try:
            parsed: Any = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode("utf-8", "replace")
        return Response(status, {k.lower(): v for k, v in got.items()}, parsed)

    def get(self, path: str, headers: Mapping[str, str] | None = None) -> Response:
        return self.request("GET", path, headers=headers)

    def graphql(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        *,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        sent = {"content-type": "application/json", **(headers or {})}
        if token is not None:
            sent["authorization"] = f"Bearer {token}"
        body = json.dumps({"query": query, "variables": dict(variables or {})}).encode()
        return self.request("POST", "/graphql", body, sent)

    def signal(self, signum: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signum)

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM, then SIGKILL if it has not exited within `timeout`; the exit code."""
        self.signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(timeout=timeout)

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def started(*servers: ServerProcess) -> Iterator[list[ServerProcess]]:
    """For fixtures: yield the servers, then stop every one of them."""
    try:
        yield list(servers)
    finally:
        for server in servers:
            server.stop()
