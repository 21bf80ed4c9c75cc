"""`sessiongraph serve --workers N`: worker processes over one table, refused on the embedded
store; the port and the table checked at start; metrics summed across the workers."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections import Counter
from typing import Any

import pytest
from starlette.testclient import TestClient

from dynamo.runner import BlockingCallRunner
from dynamo.store import Store
from dynamo.table import create_table
from server.app import create_app
from server.services import Services
from server.settings import Settings
from tests.ops.conftest import LOGIN, PASSWORD, REGISTER, VIEWER, delta, scrape
from tests.support.api import ADMIN_TOKEN
from tests.support.calls import CallCounter
from tests.support.servers import ServerProcess, free_port

pytestmark = pytest.mark.dynamodb_local


def _cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SESSIONGRAPH_", "AWS_"))}
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


def test_workers_are_refused_on_the_embedded_store() -> None:
    done = _cli("serve", "--workers", "2", "--port", str(free_port()), timeout=30)
    assert done.returncode == 2
    assert "embedded in-memory store lives in one process" in done.stderr
    assert "DynamoDB Local" in done.stderr
    assert "admin token" not in done.stdout


def test_a_port_in_use_is_refused_before_an_admin_token_is_printed() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _cli("serve", "--port", str(port), timeout=30)
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "admin token" not in done.stdout


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_missing_table_is_an_error_at_start(dynamodb_local_server, workers) -> None:
    done = _cli(
        "serve",
        "--port",
        str(free_port()),
        "--endpoint-url",
        dynamodb_local_server.endpoint_url,
        "--table-name",
        "no_such_table",
        "--workers",
        workers,
    )
    assert done.returncode == 2
    assert "'no_such_table' does not exist" in done.stderr
    assert "--create-table" in done.stderr
    assert "sessiongraph create-table" in done.stderr


def _worker_pids(server: ServerProcess) -> set[int]:
    """Processes spawned by the server's process (uvicorn's workers; not the resource tracker)."""
    children = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                command = cmdline.read()
        except OSError:
            continue
        if int(fields[1]) == server.process.pid and b"spawn_main" in command:
            children.add(int(entry))
    return children


MIN_VIEWERS, MAX_VIEWERS = 10, 300


def _sequence(graphql: Any, viewers: int | None = None, spread: Any = None) -> int:
    """A known sequence: what the metrics must move by. `viewers` viewer queries, or at least
    MIN_VIEWERS and more until `spread()` (both workers have answered; the kernel picks the
    worker of each connection), at most MAX_VIEWERS. Returns how many it sent."""
    graphql(REGISTER, {"c": "alice", "p": PASSWORD}, None, [])
    token = None
    for _ in range(3):
        token = graphql(LOGIN, {"c": "alice", "p": PASSWORD}, None, [])["login"]["accessToken"]
    for _ in range(2):
        graphql(LOGIN, {"c": "alice", "p": "wrong password"}, None, ["UNAUTHENTICATED"])
    sent = 0
    while sent < (viewers if viewers is not None else MAX_VIEWERS):
        assert graphql(VIEWER, {}, token, [])["viewer"]["sessionId"]
        sent += 1
        if viewers is None and sent >= MIN_VIEWERS and spread():
            break
    graphql("{ viewer {", {}, None, ["BAD_USER_INPUT"])
    return sent


def _expected_requests(viewers: int) -> dict[tuple[str, str, str], int]:
    return {
        ("mutation", "Register", "success"): 1,
        ("mutation", "Login", "success"): 3,
        ("mutation", "Login", "unauthenticated"): 2,
        ("query", "Me", "success"): viewers,
        ("unknown", "", "bad_user_input"): 1,
    }


def _graphql_pids(server: ServerProcess) -> set[int]:
    """The worker processes whose access lines show a /graphql request."""
    return {
        line["pid"]
        for line in map(_json, list(server.output))
        if line and line.get("logger") == "sessiongraph.access" and line.get("path") == "/graphql"
    }


def _expected_dynamodb_calls(local: Any, viewers: int) -> Counter[str]:
    """The DynamoDB calls the same sequence makes in process, counted from botocore's events."""
    client = local.client()
    table = f"ops_expected_{os.getpid()}"
    create_table(client, table)
    counter = CallCounter()
    counter.attach(client)
    counter.reset()
    runner = BlockingCallRunner(4)
    settings = Settings(admin_token=ADMIN_TOKEN, metrics=True)  # the server's defaults
    store = Store(
        client=client,
        table_name=table,
        policy=settings.session_policy(),
        lockout=settings.lockout_policy(),
    )
    services = Services(store, runner)
    app = create_app(settings, services)
    try:
        with TestClient(app) as http:

            def graphql(query: str, variables: Any, token: str | None, codes: list[str]) -> Any:
                headers = {"authorization": f"Bearer {token}"} if token else {}
                body = http.post(
                    "/graphql", json={"query": query, "variables": variables}, headers=headers
                ).json()
                got = [e["extensions"]["code"] for e in body.get("errors") or []]
                assert got == codes, body
                return body.get("data")

            _sequence(graphql, viewers)
        return Counter(counter.counts)
    finally:
        runner.close()
        client.delete_table(TableName=table)


def test_two_workers_serve_one_token_and_metrics_count_every_request(dynamodb_local_server):
    table = f"ops_workers_{os.getpid()}"
    create_table(dynamodb_local_server.client(), table)
    server = ServerProcess.start(
        endpoint_url=dynamodb_local_server.endpoint_url,
        table_name=table,
        admin_token=ADMIN_TOKEN,
        args=["--workers", "2"],
        env={"SESSIONGRAPH_LOG_FORMAT": "json"},
    )
    try:
        assert len(_worker_pids(server)) == 2
        before = scrape(server)

        def graphql(query: str, variables: Any, token: str | None, codes: list[str]) -> Any:
            response = server.graphql(query, variables, token=token)
            assert response.codes == codes, response.body
            return response.data

        viewers = _sequence(graphql, spread=lambda: len(_graphql_pids(server)) == 2)
        scrapes = [scrape(server) for _ in range(6)]  # whichever worker answers each one
        after = scrapes[0]
        requests = delta(
            after,
            before,
            "sessiongraph_graphql_requests_total",
            ("operation_type", "operation_name", "outcome"),
        )
        assert dict(requests) == _expected_requests(viewers)
        durations = delta(
            after, before, "sessiongraph_graphql_request_duration_seconds_count", "operation_type"
        )
        assert dict(durations) == {"mutation": 6, "query": viewers, "unknown": 1}
        calls = delta(after, before, "sessiongraph_dynamodb_calls_total", "operation")
        assert dict(calls) == dict(_expected_dynamodb_calls(dynamodb_local_server, viewers))
        assert sum(calls.values()) > 0
        timed = delta(
            after, before, "sessiongraph_dynamodb_call_duration_seconds_count", "operation"
        )
        assert timed == calls
        for other in scrapes[1:]:
            for name in (
                "sessiongraph_graphql_requests_total",
                "sessiongraph_dynamodb_calls_total",
            ):
                assert other[name] == after[name]
        served_by = _graphql_pids(server)
        assert served_by <= _worker_pids(server)
        assert len(served_by) == 2, "one worker served every request: the sum proves less"
        assert _uvicorn_access_lines(server) == [], "each request is logged once, by the app"
    finally:
        assert server.stop() == 0
        dynamodb_local_server.client().delete_table(TableName=table)


def _uvicorn_access_lines(server: ServerProcess) -> list[str]:
    """uvicorn's own access lines (the app writes `sessiongraph.access` lines instead), in
    JSON or in text."""
    return [
        line
        for line in list(server.output)
        if (_json(line) or {}).get("logger") == "uvicorn.access" or " uvicorn.access " in line
    ]


def _json(line: str) -> dict[str, Any] | None:
    try:
        parsed = json.loads(line)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def test_a_generated_admin_token_reaches_every_worker_and_no_log_line(dynamodb_local_server):
    table = f"ops_token_{os.getpid()}"
    create_table(dynamodb_local_server.client(), table)
    server = ServerProcess.start(
        endpoint_url=dynamodb_local_server.endpoint_url,
        table_name=table,
        args=["--workers", "2"],
        env={"SESSIONGRAPH_LOG_FORMAT": "json", "SESSIONGRAPH_LOG_LEVEL": "DEBUG"},
    )
    try:
        banner = [line for line in server.output if line.startswith("admin token")]
        assert len(banner) == 1
        token = banner[0].rsplit(" ", 1)[1].strip()
        for _ in range(MAX_VIEWERS):  # new connections, until both workers have answered
            server.graphql(
                'mutation { login(customerId: "sso") { accessToken } }', token=token
            ).ok()
            if len(_graphql_pids(server)) == 2:
                break
    finally:
        assert server.stop() == 0
        dynamodb_local_server.client().delete_table(TableName=table)
    assert len(_graphql_pids(server)) == 2
    assert [line for line in server.output if token in line] == banner


def _uvicorn_factory(port: int, env: dict[str, str]) -> subprocess.Popen[str]:
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("SESSIONGRAPH_", "AWS_"))
    }
    environment.update(env)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "server.asgi:create_app_from_environment",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=environment,
        text=True,
    )


def test_the_factory_under_plain_uvicorn(dynamodb_local_server):
    """The documented `uvicorn --factory` line: settings from the environment only."""
    table = f"ops_factory_{os.getpid()}"
    create_table(dynamodb_local_server.client(), table)
    port = free_port()
    process = _uvicorn_factory(
        port,
        {
            "SESSIONGRAPH_ENDPOINT_URL": dynamodb_local_server.endpoint_url,
            "SESSIONGRAPH_TABLE_NAME": table,
            "SESSIONGRAPH_ADMIN_TOKEN": ADMIN_TOKEN,
        },
    )
    server = ServerProcess(process, port)
    threading.Thread(target=server._drain, daemon=True).start()
    try:
        server._wait_ready("/readyz")
        server.graphql(
            'mutation { login(customerId: "f") { accessToken } }', token=ADMIN_TOKEN
        ).ok()
    finally:
        server.stop()
        dynamodb_local_server.client().delete_table(TableName=table)
    # Started without `--no-access-log`: the app's logging turns uvicorn's line off all the same.
    assert any(" sessiongraph.access " in line and "/graphql" in line for line in server.output)
    assert _uvicorn_access_lines(server) == []


def test_the_factory_names_a_missing_table(dynamodb_local_server):
    process = _uvicorn_factory(
        free_port(),
        {
            "SESSIONGRAPH_ENDPOINT_URL": dynamodb_local_server.endpoint_url,
            "SESSIONGRAPH_TABLE_NAME": "no_such_table",
            "SESSIONGRAPH_ADMIN_TOKEN": ADMIN_TOKEN,
        },
    )
    output, _ = process.communicate(timeout=60)
    assert process.returncode != 0
    assert "'no_such_table' does not exist" in output
    assert "--create-table" in output
