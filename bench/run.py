"""Benchmarks against DynamoDB Local (started here) and the embedded moto store.

Run from the repository root: `python -m bench.run` (or `make bench`). See bench/README.md.

Timings on a shared machine are only compared as ratios of variants measured side by side:
each repetition runs every variant once, in alternating order (A B, then B A, ...), and every
loop stops at a repetition count or a time budget, whichever comes first.
"""

from __future__ import annotations

import asyncio
import functools
import os
import platform
import statistics
import sys
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.testclient import TestClient

from dynamo.customers import record_login
from dynamo.lifecycle import create_child_session
from dynamo.records import ChildSession, ParentSession
from dynamo.runner import BlockingCallRunner
from dynamo.sessions import create_session, get_session_by_session_id, get_sessions_by_keys
from dynamo.store import Store
from dynamo.table import create_table
from server.app import create_app
from server.services import Services, open_services
from server.settings import Settings
from tests.support import dynamodb_local
from tests.support.api import ADMIN_TOKEN, NESTED_QUERY, Api
from tests.support.calls import CallCounter

# Sizes.
SESSIONS_READ = 250
NESTED_SESSIONS = 30
CHILDREN_PER_SESSION = 3
RUNNER_THREADS = 16


@dataclass(frozen=True, slots=True)
class Budget:
    """Bounds of one measured loop: at most `max_reps` repetitions or `max_seconds`.

    The time is checked after each repetition, so one repetition may overrun it.
    """

    warmup: int
    max_reps: int
    max_seconds: float


BUDGET_READS = Budget(warmup=3, max_reps=30, max_seconds=50.0)
BUDGET_NESTED = Budget(warmup=3, max_reps=50, max_seconds=40.0)
BUDGET_EMBEDDED = Budget(warmup=2, max_reps=30, max_seconds=20.0)


@dataclass
class Samples:
    name: str
    ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    """CPU time of this process (all its threads) over the same interval."""

    @property
    def median(self) -> float:
        return statistics.median(self.ms)

    @property
    def quartiles(self) -> tuple[float, float]:
        if len(self.ms) < 2:
            return self.ms[0], self.ms[0]
        q = statistics.quantiles(self.ms, n=4, method="inclusive")
        return q[0], q[2]


def interleaved(variants: Mapping[str, Callable[[], object]], budget: Budget) -> list[Samples]:
    """Time every variant once per repetition, alternating the order between repetitions."""
    names = list(variants)
    started = time.monotonic()
    for _ in range(budget.warmup):
        for name in names:
            variants[name]()
        if time.monotonic() - started > budget.max_seconds / 4:
            break
    samples = {name: Samples(name) for name in names}
    started = time.monotonic()
    for rep in range(budget.max_reps):
        for name in names if rep % 2 == 0 else reversed(names):
            t0, c0 = time.perf_counter(), time.process_time()
            variants[name]()
            samples[name].ms.append((time.perf_counter() - t0) * 1000.0)
            samples[name].cpu_ms.append((time.process_time() - c0) * 1000.0)
        if time.monotonic() - started > budget.max_seconds:
            break
    return list(samples.values())


def paired_ratio(numerator: Samples, denominator: Samples) -> float:
    """The median of per-repetition ratios: a check on the ratio of medians."""
    return statistics.median(n / d for n, d in zip(numerator.ms, denominator.ms, strict=True))


def print_table(
    title: str, rows: list[Samples], baseline: Samples | None, extra: dict[str, str]
) -> None:
    print(f"\n### {title}\n")
    header = "| variant | n | median ms | p25-p75 ms | median client CPU ms |"
    rule = "|---|---:|---:|---:|---:|"
    if baseline is not None:
        header += f" ratio of medians vs {baseline.name} | median paired ratio |"
        rule += "---:|---:|"
    if extra:
        header += " DynamoDB calls |"
        rule += "---|"
    print(header)
    print(rule)
    for row in rows:
        low, high = row.quartiles
        line = (
            f"| {row.name} | {len(row.ms)} | {row.median:.1f} | {low:.1f}-{high:.1f}"
            f" | {statistics.median(row.cpu_ms):.1f} |"
        )
        if baseline is not None:
            line += f" {row.median / baseline.median:.2f} | {paired_ratio(row, baseline):.2f} |"
        if extra:
            line += f" {extra.get(row.name, '')} |"
        print(line)
    sys.stdout.flush()


def describe_calls(counts: Counter[str], max_in_flight: int | None = None) -> str:
    parts = [f"{op} {n}" for op, n in sorted(counts.items())]
    text = f"{sum(counts.values())} ({', '.join(parts)})"
    if max_in_flight is not None:
        text += f", at most {max_in_flight} in flight"
    return text


@contextmanager
def counted(counter: CallCounter) -> Iterator[Counter[str]]:
    """The calls made inside the block, by operation."""
    counter.reset()
    seen: Counter[str] = Counter()
    yield seen
    seen.update(counter.counts)


# Data ------------------------------------------------------------------------------------


def seed_sessions(store: Store, customer_id: str, count: int) -> list[ParentSession]:
    return [create_session(store, customer_id, token_hash="x") for _ in range(count)]


def seed_nested(store: Store, customer_id: str) -> None:
    """As tests/api/test_round_trips.py: 30 sessions of 3 children each, and a login time."""
    parents = seed_sessions(store, customer_id, NESTED_SESSIONS)
    record_login(store, customer_id, store.clock.now())
    for parent in parents:
        for n in range(CHILDREN_PER_SESSION):
            create_child_session(store, parent, client=f"app{n}", token_hash="y")


def nested_request(api: Api, customer_id: str) -> None:
    data = api.admin(NESTED_QUERY, {"c": customer_id}).ok()
    edges = data["customer"]["sessions"]["edges"]
    if len(edges) != NESTED_SESSIONS or any(
        len(e["node"]["childSessions"]["edges"]) != CHILDREN_PER_SESSION for e in edges
    ):
        raise RuntimeError("the nested query returned an unexpected shape")


# Experiments ------------------------------------------------------------------------------


def experiment_reads(store: Store, counter: CallCounter) -> None:
    """250 sessions by full key: BatchGetItem vs sequential GetItems vs concurrent GetItems."""
    customer_id = "bench-reads"
    sessions = seed_sessions(store, customer_id, SESSIONS_READ)
    keys = [{"PK": s.pk, "SK": s.sk} for s in sessions]
    runner = BlockingCallRunner(RUNNER_THREADS)
    loop = asyncio.Runner()

    def batch() -> list[ParentSession | ChildSession | None]:
        return get_sessions_by_keys(store, keys)

    def sequential() -> list[ParentSession | None]:
        return [get_session_by_session_id(store, s.session_id, customer_id) for s in sessions]

    async def gather_all() -> list[ParentSession | None]:
        return list(
            await asyncio.gather(
                *(
                    runner.run(get_session_by_session_id, store, s.session_id, customer_id)
                    for s in sessions
                )
            )
        )

    def concurrent() -> list[ParentSession | None]:
        return loop.run(gather_all())

    variants: dict[str, Callable[[], list[Any]]] = {
        "BatchGetItem (get_sessions_by_keys)": batch,
        "250 GetItem, sequential": sequential,
        f"250 GetItem, concurrent (runner {RUNNER_THREADS})": concurrent,
    }
    calls: dict[str, str] = {}
    expected = [s.session_id for s in sessions]
    try:
        for name, fn in variants.items():
            with counted(counter) as seen:
                result = fn()
            if [r.session_id if r else None for r in result] != expected:
                raise RuntimeError(f"{name}: wrong sessions read")
            calls[name] = describe_calls(seen)
        rows = interleaved(variants, BUDGET_READS)
    finally:
        loop.close()
        runner.close()
    print_table(f"1. Reading {SESSIONS_READ} sessions by full key", rows, rows[0], calls)


def experiment_nested(store: Store, counter: CallCounter, settings: Settings) -> float:
    """The nested query through the app, runner pool 16 vs 1. Returns the pool-16 median."""
    customer_id = "bench-nested"
    seed_nested(store, customer_id)
    wide = BlockingCallRunner(RUNNER_THREADS)
    narrow = BlockingCallRunner(1)
    wide_name = f"nested query, runner pool {RUNNER_THREADS}"
    narrow_name = "nested query, runner pool 1"
    try:
        with (
            TestClient(create_app(settings, Services(store=store, runner=wide))) as wide_client,
            TestClient(create_app(settings, Services(store=store, runner=narrow))) as narrow_client,
        ):
            apis = {wide_name: Api(wide_client), narrow_name: Api(narrow_client)}
            calls: dict[str, str] = {}
            for name, api in apis.items():
                with counted(counter) as seen:
                    nested_request(api, customer_id)
                calls[name] = describe_calls(seen, max(counter.max_in_flight.values()))
            rows = interleaved(
                {
                    name: functools.partial(nested_request, api, customer_id)
                    for name, api in apis.items()
                },
                BUDGET_NESTED,
            )
    finally:
        wide.close()
        narrow.close()
    print_table(
        f"2. Nested query ({NESTED_SESSIONS} sessions x {CHILDREN_PER_SESSION} children, admin), DynamoDB Local",
        rows,
        rows[0],
        calls,
    )
    return rows[0].median


def experiment_embedded(reference_ms: float) -> None:
    """The same nested query on the embedded moto store (pool 1, as the app runs it)."""
    settings = Settings(admin_token=ADMIN_TOKEN, store="embedded")
    services = open_services(settings)
    customer_id = "bench-nested"
    name = "nested query, embedded moto store (pool 1)"
    try:
        counter = CallCounter()
        counter.attach(services.store.client)
        seed_nested(services.store, customer_id)
        with TestClient(create_app(settings, services)) as client:
            api = Api(client)
            with counted(counter) as seen:
                nested_request(api, customer_id)
            rows = interleaved({name: lambda: nested_request(api, customer_id)}, BUDGET_EMBEDDED)
    finally:
        services.close()
    print_table("3. Nested query on the embedded store", rows, None, {name: describe_calls(seen)})
    print(
        f"\nEmbedded median / DynamoDB Local pool-{RUNNER_THREADS} median of experiment 2: "
        f"{rows[0].median / reference_ms:.2f} (measured one after the other, not interleaved)"
    )


# Main ------------------------------------------------------------------------------------


def dynamodb_local_version() -> str:
    jar = dynamodb_local.emulator_dir() / "DynamoDBLocal.jar"
    try:
        with zipfile.ZipFile(jar) as archive:
            text = archive.read("META-INF/maven/com/amazonaws/DynamoDBLocal/pom.properties")
    except (OSError, KeyError):
        return "unknown"
    for line in text.decode().splitlines():
        if line.startswith("version="):
            return line.removeprefix("version=")
    return "unknown"


def main() -> int:
    reason = dynamodb_local.unavailable_reason()
    if reason:
        print(f"cannot run the benchmarks: {reason}", file=sys.stderr)
        return 1
    began = time.monotonic()
    print("## sessiongraph benchmarks\n")
    print(f"- CPUs available (nproc): {len(os.sched_getaffinity(0))}")
    print(f"- Python {platform.python_version()} ({platform.machine()})")
    print(f"- DynamoDB Local {dynamodb_local_version()}, in memory, on 127.0.0.1")
    sys.stdout.flush()

    server = dynamodb_local.start()
    try:
        client = server.client(pool_size=RUNNER_THREADS)
        counter = CallCounter()
        counter.attach(client)
        table_name = f"bench_{os.getpid()}_{int(time.time())}"
        create_table(client, table_name)
        store = Store(client=client, table_name=table_name)
        experiment_reads(store, counter)
        reference = experiment_nested(store, counter, Settings(admin_token=ADMIN_TOKEN))
    finally:
        server.stop()
    # Last: moto's mock intercepts every botocore client in the process while it runs.
    experiment_embedded(reference)
    print(f"\nTotal time: {time.monotonic() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
