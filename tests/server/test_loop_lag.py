"""The event-loop lag probe of the benchmarks: off by default, and what it reports when on."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from typing import Any

from starlette.testclient import TestClient

from server.app import create_app
from server.loop_lag import PATH, LoopLagProbe, percentile, summarize
from server.settings import Settings
from tests.support.api import ADMIN_TOKEN


def test_the_probe_is_off_by_default(services):
    assert Settings().loop_lag_probe is False
    with TestClient(create_app(Settings(admin_token=ADMIN_TOKEN), services)) as client:
        assert client.get(PATH).status_code == 404


def test_the_probe_answers_when_enabled(services):
    settings = Settings(admin_token=ADMIN_TOKEN, loop_lag_probe=True)
    with TestClient(create_app(settings, services)) as client:
        answer = client.get(PATH)
        assert client.get("/healthz").status_code == 200
    assert answer.status_code == 200
    body = answer.json()
    assert body["pid"] == os.getpid()
    assert set(body) == {"pid", "samples", "p50_ms", "p99_ms", "max_ms"}


def test_percentiles_are_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([], 99) == 0.0
    assert summarize([3.0, 1.0, 2.0])["max_ms"] == 3.0


async def _call(app: Any, path: str, query: str) -> dict[str, Any]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "path": path, "query_string": query.encode(), "headers": []}
    await app(scope, receive, send)
    return json.loads(sent[-1]["body"])


async def _not_reached(scope: Any, receive: Any, send: Any) -> None:
    raise AssertionError("the probe answers its own path")


def test_the_window_counts_only_samples_taken_in_it():
    probe = LoopLagProbe(_not_reached)
    probe.samples.extend([(100.0, 50.0), (200.0, 1.0), (201.0, 2.0), (300.0, 70.0)])
    body = asyncio.run(_call(probe, PATH, "since=150&until=250"))
    assert body["samples"] == 2
    assert body["max_ms"] == 2.0
    everything = asyncio.run(_call(probe, PATH, ""))
    assert everything["samples"] == 4
    assert everything["max_ms"] == 70.0


def test_the_probe_runs_for_the_lifespan_and_logs_at_shutdown(caplog):
    messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]

    async def app(scope: Any, receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "lifespan.startup"
        assert probe._task is not None and not probe._task.done()
        assert (await receive())["type"] == "lifespan.shutdown"
        assert probe._task is None

    probe = LoopLagProbe(app)

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: Any) -> None:
        pass

    with caplog.at_level(logging.INFO, logger="sessiongraph"):
        asyncio.run(probe({"type": "lifespan"}, receive, send))
    assert any("event-loop lag" in r.getMessage() for r in caplog.records)


def test_without_a_lifespan_the_first_request_starts_the_probe():
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    probe = LoopLagProbe(app)

    async def scenario() -> bool:
        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Any) -> None:
            pass

        await probe({"type": "http", "path": "/graphql", "query_string": b""}, receive, send)
        started = probe._task is not None and not probe._task.done()
        await probe._stop()
        return started

    assert asyncio.run(scenario())
