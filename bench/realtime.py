"""How long a logout through one server takes to reach a subscriber on another.

Two `sessiongraph serve` processes on one DynamoDB Local table (the first creates it, with its
stream); for each round a session logs in through the first, subscribes to `sessionEnded` on
the second, waits IDLE_SECONDS, is logged out through the first, and the time from the
logout's answer to the event's arrival is recorded. Bounded: at most ROUNDS rounds or BUDGET_SECONDS.

    .venv/bin/python -m bench.realtime            # DynamoDB Local (stream)
    .venv/bin/python -m bench.realtime --dynalite # dynalite (no stream: polling)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid

from tests.realtime.helpers import login, logout, next_payload, subscribe_session_ended
from tests.support import dynalite, dynamodb_local
from tests.support.api import ADMIN_TOKEN
from tests.support.servers import ServerProcess

ROUNDS = 30
WARMUP = 2
BUDGET_SECONDS = 120.0
IDLE_SECONDS = 2.0
"""How long each subscriber waits before the logout: the reader's idle backoff (0.1 s
doubling to 1 s) has reached its longest by then, the usual case of a subscriber."""


def measure(writer: ServerProcess, reader: ServerProcess) -> list[float]:
    url = f"ws://127.0.0.1:{reader.port}/graphql"
    samples: list[float] = []
    started = time.monotonic()
    for round_number in range(ROUNDS + WARMUP):
        if time.monotonic() - started > BUDGET_SECONDS:
            break
        session = login(writer, f"bench-{uuid.uuid4().hex[:10]}")
        with subscribe_session_ended(url, session) as ws:
            ws.ping()  # the connection is open and acknowledged
            time.sleep(IDLE_SECONDS)
            logout(writer, session)
            answered = time.monotonic()
            payload = next_payload(ws, "ended", within=10.0)
            arrived = time.monotonic()
        assert payload["data"]["sessionEnded"]["reason"] == "LOGOUT", payload
        if round_number >= WARMUP:
            samples.append(arrived - answered)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dynalite", action="store_true", help="the engine without streams")
    args = parser.parse_args()
    engine = dynalite.start() if args.dynalite else dynamodb_local.start()
    table = f"bench_realtime_{uuid.uuid4().hex[:8]}"
    try:
        writer = ServerProcess.start(
            endpoint_url=engine.endpoint_url,
            table_name=table,
            admin_token=ADMIN_TOKEN,
            args=["--create-table"],
        )
        try:
            reader = ServerProcess.start(
                endpoint_url=engine.endpoint_url, table_name=table, admin_token=ADMIN_TOKEN
            )
            try:
                samples = measure(writer, reader)
            finally:
                reader.stop()
        finally:
            writer.stop()
    finally:
        engine.stop()
    ms = sorted(s * 1000 for s in samples)
    name = "dynalite (polling every 0.5 s)" if args.dynalite else "DynamoDB Local (stream)"
    print(f"logout answered -> sessionEnded on the other server, {name}, n={len(ms)}")
    print(
        f"median {statistics.median(ms):.0f} ms, p90 {ms[int(0.9 * (len(ms) - 1))]:.0f} ms, "
        f"max {ms[-1]:.0f} ms, min {ms[0]:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
