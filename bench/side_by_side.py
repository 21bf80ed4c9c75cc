"""GraphQL against a hand-written REST endpoint, over real HTTP, side by side (issue 10).

Run from the repository root: `python -m bench.side_by_side` (`make bench` runs it after
`bench.run`; `--quick` for a short run that proves the harness). See bench/README.md.

On one DynamoDB Local (started here, in memory, on 127.0.0.1) and one table, this starts
`sessiongraph serve` and `bench/rest_app.py` under uvicorn, each with one worker and (when
this tree's `serve` has `--workers`) with two, and loads them with wrk. For every operation
and concurrency, each alternation runs every variant once, in alternating order (A B C D,
then D C B A, ...); the GraphQL/REST ratio of each alternation pairs the runs next to each
other, and the tables report the median of those ratios. Then:

- logins per second against the argon2 bound: `verify_password` calls per second on as many
  threads as this process may use cores, measured in alternation with the login runs;
- the cost of a request as the data grows: a table of 100k items with a customer of 5,000
  sessions against a near-empty one, `viewer`, `customer.sessions(first: 20)` and
  `lastLoginTime`, alternating between the two servers;
- the event-loop lag of each GraphQL run, from the server's own probe
  (`SESSIONGRAPH_LOOP_LAG_PROBE`, `server/loop_lag.py`).

It ends with the issue's targets, each with its measured value and PASS or FAIL.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.load import (
    Load,
    Served,
    Target,
    rest_serve,
    run_wrk,
    serve_supports_workers,
    sessiongraph_serve,
    wrk_unavailable_reason,
)
from bench.run import dynamodb_local_version, seed_nested
from dynamo.batch import batch_put
from dynamo.customers import record_login, register_customer
from dynamo.keys import child_session_key, customer_key, parent_session_key
from dynamo.sessions import create_session, get_sessions_by_customer_id, new_session_id
from dynamo.store import Store, to_attributes
from dynamo.table import create_table
from dynamo.timefmt import to_epoch, to_iso
from resolvers.passwords import hash_password
from resolvers.tokens import TokenKey, encode_token, hash_secret, new_secret
from tests.support import dynamodb_local
from tests.support.api import ADMIN_TOKEN, NESTED_QUERY
from tests.support.calls import CallCounter

PROBE_ENV = {"SESSIONGRAPH_LOOP_LAG_PROBE": "true"}
PASSWORD = "bench-password-0123"
LOGIN_CUSTOMERS = 64
LOGIN_MIN_SECONDS = 10.0
"""A login takes tens to hundreds of ms of argon2: shorter runs count too few."""
LOGIN_CONNECTIONS = 8
"""Within what one process admits to its argon2 pool (its threads + 4 queued per CPU: 10 on two
cores for one worker, 9 for each of two): past it the server answers RATE_LIMITED at once
(issue 7), and wrk, which does not honour Retry-After, would spend the machine on refusals
instead of logins."""

SESSION_QUERY = "query($s: String!) { session(sessionId: $s) { sessionId state isChild } }"
VIEWER_QUERY = "{ viewer { sessionId state isChild } }"
LOGIN_MUTATION = (
    "mutation($c: String!, $p: String) { login(customerId: $c, password: $p) { accessToken } }"
)
SESSIONS_PAGE_QUERY = (
    "query($c: String!) { customer(customerId: $c) "
    "{ sessions(first: 20) { edges { node { sessionId } } } } }"
)
LAST_LOGIN_QUERY = "query($c: String!) { customer(customerId: $c) { lastLoginTime } }"

TARGET_RATIO = 0.9
TARGET_WORKER_SCALING = 1.5
TARGET_LOGIN_SHARE = 0.8
TARGET_GROWTH = 1.2
TARGET_LAG_MS = 5.0


def graphql_target(name: str, query: str, variables: dict[str, Any], token: str) -> Target:
    return Target(
        name,
        "POST",
        "/graphql",
        {"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        [json.dumps({"query": query, "variables": variables})],
    )


def rest_target(name: str, path: str, token: str) -> Target:
    return Target(name, "GET", path, {"Authorization": f"Bearer {token}"})


# Machine and load -------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def commit() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], capture_output=True, text=True, check=False)
        return done.stdout.strip()

    dirty = " (with uncommitted changes)" if git("status", "--porcelain", "--", ".") else ""
    return (git("rev-parse", "--short", "HEAD") or "unknown") + dirty


def busiest_processes(count: int = 8) -> list[str]:
    """The processes using the most CPU right now (two `top` samples a second apart)."""
    done = subprocess.run(
        ["top", "-b", "-n", "2", "-d", "1", "-o", "%CPU", "-w", "200"],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    lines = done.stdout.splitlines()
    headers = [i for i, line in enumerate(lines) if line.lstrip().startswith("PID")]
    if not headers:
        return []
    last = lines[headers[-1] :]
    return [line[:150] for line in last[: count + 1]]


def print_machine(title: str) -> None:
    print(f"\n{title}: load average {load_average()}; busiest processes:\n")
    print("```")
    for line in busiest_processes():
        print(line)
    print("```")
    sys.stdout.flush()


# Runs -------------------------------------------------------------------------------------


@dataclass
class Run:
    load: Load
    lag_p99_ms: float | None = None
    cpu_ms_per_request: float | None = None
    """The server's CPU time (all its threads and workers) over the run, per answer: less
    sensitive to what else runs on the machine than throughput."""


@dataclass
class Variant:
    label: str
    served: Served
    target: Target
    workers: int
    kind: str
    """graphql (this tree), baseline (another tree's sessiongraph) or rest."""
    runs: list[Run] = field(default_factory=list)

    def median(self, value: Callable[[Run], float | None]) -> float:
        values = [v for v in (value(r) for r in self.runs) if v is not None]
        return statistics.median(values) if values else float("nan")


def loop_lag(served: Served, since: float, until: float, workers: int) -> float | None:
    """The worst p99 lag among the workers that answered (asked until each one has)."""
    seen: dict[int, float] = {}
    for _ in range(8 * workers):
        status, body = served.get(f"/debug/loop-lag?since={since:.3f}&until={until:.3f}")
        if status != 200 or not isinstance(body, dict):
            return None
        if body.get("samples"):
            seen[int(body["pid"])] = float(body["p99_ms"])
        if len(seen) >= workers:
            break
    return max(seen.values()) if seen else None


IDLE_CPU_SECONDS = 0.02
"""A server using less than this much CPU over `IDLE_POLL` seconds has drained its backlog."""
IDLE_POLL = 0.2
IDLE_TIMEOUT = 30.0


def wait_idle(served: Served) -> None:
    """Wait (at most `IDLE_TIMEOUT`) until the server has finished the requests wrk left in
    flight when it stopped, so their work does not fall into the next variant's run."""
    deadline = time.monotonic() + IDLE_TIMEOUT
    before = served.cpu_seconds()
    while time.monotonic() < deadline:
        time.sleep(IDLE_POLL)  # polling another process's CPU time
        now = served.cpu_seconds()
        if now - before < IDLE_CPU_SECONDS:
            return
        before = now


def alternate(
    variants: Sequence[Variant], connections: int, seconds: float, alternations: int
) -> None:
    """Warm every variant up, then run each once per alternation, the order reversed in turn."""
    for variant in variants:
        run_wrk(variant.served.base_url, variant.target, connections, 1)
    for rep in range(alternations):
        for variant in variants if rep % 2 == 0 else list(reversed(variants)):
            since, cpu = time.time(), variant.served.cpu_seconds()
            load = run_wrk(variant.served.base_url, variant.target, connections, seconds)
            cpu = variant.served.cpu_seconds() - cpu
            lag = loop_lag(variant.served, since, time.time(), variant.workers)
            wait_idle(variant.served)
            per_request = cpu * 1000.0 / load.requests if load.requests else None
            variant.runs.append(Run(load, lag, per_request))


def paired(numerator: Variant, denominator: Variant) -> float:
    """The median over alternations of the ratio of throughputs measured side by side."""
    ratios = [
        n.load.rps / d.load.rps
        for n, d in zip(numerator.runs, denominator.runs, strict=True)
        if d.load.rps
    ]
    return statistics.median(ratios) if ratios else float("nan")


def paired_latency(numerator: Variant, denominator: Variant) -> float:
    ratios = [
        n.load.p50_ms / d.load.p50_ms
        for n, d in zip(numerator.runs, denominator.runs, strict=True)
        if d.load.p50_ms
    ]
    return statistics.median(ratios) if ratios else float("nan")


def fmt(value: float | None, digits: int = 2) -> str:
    if value is None or value != value:  # NaN
        return "-"
    return f"{value:.{digits}f}"


# Results ----------------------------------------------------------------------------------


@dataclass
class Verdict:
    name: str
    value: str
    passed: bool | None
    """None: not measured (the reason is in `value`)."""


@dataclass
class Report:
    verdicts: list[Verdict] = field(default_factory=list)

    def add(self, name: str, value: float, ok: bool, detail: str = "") -> None:
        if value != value:  # NaN: nothing measured
            self.skip(name, "no samples")
            return
        text = fmt(value) + (f" ({detail})" if detail else "")
        self.verdicts.append(Verdict(name, text, ok))

    def skip(self, name: str, reason: str) -> None:
        self.verdicts.append(Verdict(name, reason, None))

    def print(self) -> None:
        print("\n### Targets\n")
        print("| target | measured | verdict |")
        print("|---|---|---|")
        for v in self.verdicts:
            verdict = {True: "PASS", False: "FAIL", None: "NOT MEASURED"}[v.passed]
            print(f"| {v.name} | {v.value} | {verdict} |")
        sys.stdout.flush()


# Experiment 4: GraphQL against REST -------------------------------------------------------


@dataclass
class Fixture:
    session_id: str
    viewer_token: str
    nested_customer: str


def seed_side_by_side(store: Store) -> Fixture:
    admin_session = create_session(store, "bench-admin-reads", token_hash="x")
    secret = new_secret()
    register_customer(store, "bench-viewer", hash_password(PASSWORD))
    viewer = create_session(store, "bench-viewer", token_hash=hash_secret(secret))
    token = encode_token(TokenKey(viewer.session_id, viewer.customer_id), secret)
    seed_nested(store, "bench-nested")
    return Fixture(admin_session.session_id, token, "bench-nested")


def operations(fixture: Fixture) -> dict[str, tuple[Target, Target, Callable[[Any, Any], bool]]]:
    """Per operation: the GraphQL request, the REST request, and a check that both agree."""

    def same_session(field_name: str) -> Callable[[Any, Any], bool]:
        return lambda g, r: bool(g["data"][field_name]) and g["data"][field_name] == r

    def same_nested(g: Any, r: Any) -> bool:
        edges = g["data"]["customer"]["sessions"]["edges"]
        graph = [
            (
                e["node"]["sessionId"],
                [c["node"]["sessionId"] for c in e["node"]["childSessions"]["edges"]],
            )
            for e in edges
        ]
        rest = [
            (s["sessionId"], [c["sessionId"] for c in s["childSessions"]]) for s in r["sessions"]
        ]
        return len(graph) == 30 and graph == rest

    return {
        "session(sessionId:), admin": (
            graphql_target("graphql", SESSION_QUERY, {"s": fixture.session_id}, ADMIN_TOKEN),
            rest_target("rest", f"/sessions/{fixture.session_id}", ADMIN_TOKEN),
            same_session("session"),
        ),
        "viewer, session token": (
            graphql_target("graphql", VIEWER_QUERY, {}, fixture.viewer_token),
            rest_target("rest", "/viewer", fixture.viewer_token),
            same_session("viewer"),
        ),
        "nested customer > 30 sessions > 3 children, admin": (
            graphql_target("graphql", NESTED_QUERY, {"c": fixture.nested_customer}, ADMIN_TOKEN),
            rest_target("rest", f"/customers/{fixture.nested_customer}/sessions", ADMIN_TOKEN),
            same_nested,
        ),
    }


def print_pair(name: str, connections: int, workers: int, g: Variant, r: Variant) -> None:
    def both(value: Callable[[Run], float | None], digits: int) -> str:
        return f"{fmt(g.median(value), digits)} / {fmt(r.median(value), digits)}"

    print(
        f"| {name} | {connections} | {workers} | {fmt(g.median(lambda x: x.load.rps), 0)} "
        f"| {fmt(r.median(lambda x: x.load.rps), 0)} | {fmt(paired(g, r))} "
        f"| {fmt(g.median(lambda x: x.load.p50_ms), 1)} / {fmt(g.median(lambda x: x.load.p99_ms), 1)} "
        f"| {fmt(r.median(lambda x: x.load.p50_ms), 1)} / {fmt(r.median(lambda x: x.load.p99_ms), 1)} "
        f"| {both(lambda x: x.cpu_ms_per_request, 2)} | {both(lambda x: x.lag_p99_ms, 1)} "
        f"| {sum(x.load.bad for v in (g, r) for x in v.runs)} |"
    )
    sys.stdout.flush()


def experiment_side_by_side(
    servers: dict[tuple[str, int], Served],
    fixture: Fixture,
    args: argparse.Namespace,
    report: Report,
) -> None:
    worker_counts = sorted({w for _, w in servers})
    kinds = [k for k in ("graphql", "baseline", "rest") if (k, 1) in servers]
    print(
        f"\n### 4. GraphQL against the hand-written REST endpoint (wrk -t1, {args.duration:g} s runs, "
        f"{args.alternations} alternations, workers {worker_counts})\n"
    )
    print(
        "| operation | connections | workers | GraphQL req/s | REST req/s | GraphQL/REST "
        "(median of paired ratios) | GraphQL p50 / p99 ms | REST p50 / p99 ms | server CPU ms "
        "per request, GraphQL / REST | loop lag p99 ms, GraphQL / REST | bad answers |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    sys.stdout.flush()
    for op_name, (graph_target, rest_tgt, agree) in operations(fixture).items():
        if args.only and not any(word in op_name for word in args.only):
            continue
        for workers in worker_counts:
            g_status, g_body = servers["graphql", workers].call(graph_target)
            r_status, r_body = servers["rest", workers].call(rest_tgt)
            if g_status != 200 or r_status != 200 or not agree(g_body, r_body):
                raise RuntimeError(f"{op_name}: GraphQL and REST disagree: {g_body} / {r_body}")
        for connections in args.concurrency:
            variants = [
                Variant(
                    f"{kind} {workers}w",
                    servers[kind, workers],
                    rest_tgt if kind == "rest" else graph_target,
                    workers,
                    kind,
                )
                for workers in worker_counts
                for kind in kinds
                if (kind, workers) in servers
            ]
            alternate(variants, connections, args.duration, args.alternations)
            by = {(v.kind, v.workers): v for v in variants}
            if ("baseline", 1) in by:
                print_pair(
                    f"{op_name} (baseline tree)", connections, 1, by["baseline", 1], by["rest", 1]
                )
                print(
                    f"| {op_name}: this tree / baseline tree, req/s | {connections} | 1 | "
                    f"{fmt(paired(by['graphql', 1], by['baseline', 1]))} | | | | | | | |"
                )
            for workers in worker_counts:
                g, r = by["graphql", workers], by["rest", workers]
                ratio = paired(g, r)
                print_pair(op_name, connections, workers, g, r)
                sys.stdout.flush()
                short = op_name.split(",")[0]
                if connections == 16 and not op_name.startswith("nested"):
                    report.add(
                        f"GraphQL/REST throughput, {short}, c16, {workers} worker(s) >= {TARGET_RATIO}",
                        ratio,
                        ratio >= TARGET_RATIO,
                    )
                    lag = g.median(lambda x: x.lag_p99_ms)
                    report.add(
                        f"event-loop lag p99, {short}, c16, {workers} worker(s) <= {TARGET_LAG_MS:g} ms",
                        lag,
                        lag <= TARGET_LAG_MS,
                        "ms, median over runs of the worst worker's p99",
                    )
            if connections == 16 and len(worker_counts) > 1 and not op_name.startswith("nested"):
                graph_scale = paired(by["graphql", 2], by["graphql", 1])
                rest_scale = paired(by["rest", 2], by["rest", 1])
                name = f"two workers / one, GraphQL, {op_name.split(',')[0]}, c16 >= {TARGET_WORKER_SCALING}"
                if rest_scale < TARGET_WORKER_SCALING:
                    report.skip(
                        name,
                        f"{fmt(graph_scale)}; REST scales only {fmt(rest_scale)} on this machine, "
                        "so the target does not apply",
                    )
                else:
                    report.add(
                        name,
                        graph_scale,
                        graph_scale >= TARGET_WORKER_SCALING,
                        f"REST {fmt(rest_scale)}",
                    )
    if len(worker_counts) == 1:
        report.skip(
            "two workers (ratio and scaling)",
            (
                "this tree's `sessiongraph serve` has no --workers: one worker measured only"
                if not args.workers
                else f"--workers {worker_counts[0]} asked for one worker count only"
            ),
        )


# Experiment 5: logins against the argon2 bound ------------------------------------------


def argon2_bound(seconds: float, threads: int) -> float:
    """`verify_password` calls per second on `threads` threads, in a process of its own."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.argon2_bound", str(seconds), str(threads)],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    )
    return float(done.stdout.strip())


def login_run(served: Served, target: Target, seconds: float) -> Load:
    """One wrk run of logins, then a wait until the server has hashed what wrk left in flight,
    so that neither the next run on it nor the argon2 bound measured next shares the CPUs
    with that remainder (runs G5 and G6 refused logins for two seconds where a run started
    on a server still draining the one before)."""
    load = run_wrk(served.base_url, target, LOGIN_CONNECTIONS, seconds)
    wait_idle(served)
    return load


def experiment_logins(
    servers: dict[tuple[str, int], Served], store: Store, args: argparse.Namespace, report: Report
) -> None:
    stored = hash_password(PASSWORD)
    customers = [f"bench-login-{n}" for n in range(LOGIN_CUSTOMERS)]
    for customer in customers:
        register_customer(store, customer, stored)
    bodies = [
        json.dumps({"query": LOGIN_MUTATION, "variables": {"c": c, "p": PASSWORD}})
        for c in customers
    ]
    target = Target("login", "POST", "/graphql", {"Content-Type": "application/json"}, bodies)
    threads = len(os.sched_getaffinity(0))
    seconds = max(args.duration, LOGIN_MIN_SECONDS)
    graph = {w: s for (kind, w), s in servers.items() if kind == "graphql"}
    for served in graph.values():
        status, body = served.call(target)
        if status != 200 or body.get("errors"):
            raise RuntimeError(f"login failed: {body}")
    bounds: list[float] = []
    runs: dict[int, list[Load]] = {w: [] for w in graph}
    login_run(next(iter(graph.values())), target, 2)  # warm-up
    for rep in range(args.alternations):
        steps: list[Callable[[], None]] = [
            lambda: bounds.append(argon2_bound(seconds, threads)),
            *(
                (lambda w=w, s=s: runs[w].append(login_run(s, target, seconds)))
                for w, s in graph.items()
            ),
        ]
        for step in steps if rep % 2 == 0 else list(reversed(steps)):
            step()
    print(
        f"\n### 5. Logins per second against the argon2 bound ({LOGIN_CONNECTIONS} connections, "
        f"{LOGIN_CUSTOMERS} customers; successful logins only)\n"
    )
    print(
        f"argon2 bound: `verify_password` on {threads} threads (the cores this process may use) "
        "in a process of its own (bench/argon2_bound.py), "
        f"median {fmt(statistics.median(bounds), 1)} per s over {len(bounds)} runs\n"
    )
    per_run = "; ".join(
        f"{w} worker(s) " + ", ".join(fmt(x.good_rps, 1) for x in loads)
        for w, loads in runs.items()
    )
    print(f"Bound per run: {', '.join(fmt(b, 1) for b in bounds)}; logins/s per run: {per_run}\n")
    print(
        "| workers | logins/s (median) | p50 / p99 ms | logins / bound (median of paired ratios) "
        "| bad answers (refused or failed; not counted as logins) |"
    )
    print("|---:|---:|---:|---:|---:|")
    for workers, loads in runs.items():
        share = statistics.median(x.good_rps / b for x, b in zip(loads, bounds, strict=True))
        print(
            f"| {workers} | {fmt(statistics.median(x.good_rps for x in loads), 1)} "
            f"| {fmt(statistics.median(x.p50_ms for x in loads), 0)} / {fmt(statistics.median(x.p99_ms for x in loads), 0)} "
            f"| {fmt(share)} | {sum(x.bad for x in loads)} |"
        )
        report.add(
            f"logins/s against the argon2 bound, {workers} worker(s) >= {TARGET_LOGIN_SHARE}",
            share,
            share >= TARGET_LOGIN_SHARE,
        )
    sys.stdout.flush()


# Experiment 6: cost as the data grows ---------------------------------------------------


def parent_item(store: Store, customer_id: str, now_iso: str, expires: int) -> dict[str, Any]:
    return {
        **parent_session_key(new_session_id(), customer_id),
        "customer_id": customer_id,
        "session_state": "active",
        "access_token": "x",
        "created_at": now_iso,
        "last_login_time": now_iso,
        "last_access_time": now_iso,
        "expires_at": expires,
    }


def fill(store: Store, items: list[dict[str, Any]]) -> None:
    """BatchWriteItem in pages of 25 from 8 threads."""
    chunks = [items[i : i + 500] for i in range(0, len(items), 500)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda chunk: batch_put(store, [to_attributes(i) for i in chunk]), chunks))


def seed_growth(store: Store, sessions: int, total_items: int) -> str:
    """The customer `growth-c` with `sessions` sessions and a login time, the viewer's session,
    and other customers (each: its item, 4 sessions of 3 children) up to `total_items`.
    Returns the viewer's token."""
    now = store.clock.now()
    now_iso = to_iso(now)
    expires = to_epoch(now) + 6 * 3600
    items: list[dict[str, Any]] = [
        {**customer_key("growth-c"), "customer_id": "growth-c", "created_at": now_iso},
        *(parent_item(store, "growth-c", now_iso, expires) for _ in range(sessions)),
    ]
    filler = 0
    while len(items) + 2 < total_items:
        customer_id = f"filler-{filler}"
        filler += 1
        items.append(
            {**customer_key(customer_id), "customer_id": customer_id, "last_login_time": now_iso}
        )
        for _ in range(4):
            parent = parent_item(store, customer_id, now_iso, expires)
            items.append(parent)
            session_id = parent["PK"].split("#", 1)[1]
            for n in range(3):
                items.append(
                    {
                        **child_session_key(session_id, new_session_id()),
                        "customer_id": customer_id,
                        "session_state": "active",
                        "access_token": "y",
                        "client": f"app{n}",
                        "created_at": now_iso,
                        "last_access_time": now_iso,
                        "expires_at": expires,
                        "parent_session_state": "active",
                    }
                )
    fill(store, items)
    record_login(store, "growth-c", now)
    secret = new_secret()
    viewer = create_session(store, "growth-c", token_hash=hash_secret(secret))
    return encode_token(TokenKey(viewer.session_id, viewer.customer_id), secret)


def print_query_attribution(stores: dict[str, Store]) -> None:
    """What the store itself takes for the page of `customer.sessions(first: 20)`: the DynamoDB
    calls of one `get_sessions_by_customer_id`, and the median time of its GSI Query newest
    first (as the API reads) and oldest first, from this process, 20 times each."""
    print("\nThe page's GSI Query timed directly with boto3 (median of 20, ms):\n")
    print("| table | DynamoDB calls for one page | newest first | oldest first |")
    print("|---|---:|---:|---:|")
    timings: dict[tuple[str, bool], float] = {}
    for label, store in stores.items():
        for newest in (True, False):
            samples = []
            for _ in range(20):
                started = time.perf_counter()
                get_sessions_by_customer_id(store, "growth-c", first=20, newest_first=newest)
                samples.append((time.perf_counter() - started) * 1000.0)
            timings[label, newest] = statistics.median(samples)
    for label, store in stores.items():
        counter = CallCounter()  # attached last: its hooks stay on the shared client
        counter.attach(store.client)
        get_sessions_by_customer_id(store, "growth-c", first=20)
        print(
            f"| {label} | {counter.total} | {fmt(timings[label, True], 1)} "
            f"| {fmt(timings[label, False], 1)} |"
        )
    sys.stdout.flush()


def item_count(store: Store) -> int:
    """Items in the table, counted by a Scan (DescribeTable's count may lag)."""
    paginator = store.client.get_paginator("scan")
    pages = paginator.paginate(TableName=store.table_name, Select="COUNT")
    return sum(int(page["Count"]) for page in pages)


def experiment_growth(
    endpoint_url: str, client: Any, args: argparse.Namespace, log_dir: Path, report: Report
) -> None:
    sizes = {"near-empty": (21, 0), "grown": (args.grown_sessions, args.grown_items)}
    tokens: dict[str, str] = {}
    servers: dict[str, Served] = {}
    started = time.monotonic()
    counts: dict[str, int] = {}
    stores: dict[str, Store] = {}
    try:
        for label, (sessions, total) in sizes.items():
            table = f"growth_{label.replace('-', '_')}_{os.getpid()}"
            create_table(client, table)
            store = Store(client=client, table_name=table)
            tokens[label] = seed_growth(store, sessions, total)
            stores[label] = store
            counts[label] = item_count(store)
            servers[label] = sessiongraph_serve(
                f"sessiongraph {label}",
                endpoint_url=endpoint_url,
                table_name=table,
                admin_token=ADMIN_TOKEN,
                workers=1,
                log_dir=log_dir,
                env=PROBE_ENV,
            )
        seeded = time.monotonic() - started
        print(
            f"\n### 6. Cost of a request as the data grows ({args.growth_connections} connection(s), "
            f"{args.duration:g} s runs, {args.alternations} alternations; seeding took {seeded:.0f} s)\n"
        )
        print(
            "Tables: near-empty = the customer with 21 sessions and its viewer session "
            f"({counts['near-empty']} items); grown = the customer with {args.grown_sessions} sessions "
            f"among {counts['grown']} items.\n"
        )
        print(
            "| operation | near-empty p50 / p99 ms | grown p50 / p99 ms | grown / near-empty p50 (median of paired ratios) | near-empty req/s | grown req/s | bad |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|")
        for op_name, query, variables, by_token in (
            ("viewer", VIEWER_QUERY, {}, True),
            ("customer.sessions(first: 20)", SESSIONS_PAGE_QUERY, {"c": "growth-c"}, False),
            ("customer.lastLoginTime", LAST_LOGIN_QUERY, {"c": "growth-c"}, False),
        ):
            variants = []
            for label, served in servers.items():
                target = graphql_target(
                    op_name, query, variables, tokens[label] if by_token else ADMIN_TOKEN
                )
                status, body = served.call(target)
                if status != 200 or body.get("errors"):
                    raise RuntimeError(f"{op_name} on {label}: {body}")
                if (
                    "sessions" in op_name
                    and len(body["data"]["customer"]["sessions"]["edges"]) != 20
                ):
                    raise RuntimeError(f"{op_name} on {label}: not 20 sessions")
                variants.append(Variant(label, served, target, 1, "graphql"))
            alternate(variants, args.growth_connections, args.duration, args.alternations)
            empty, grown = variants
            ratio = paired_latency(grown, empty)
            print(
                f"| {op_name} | {fmt(empty.median(lambda x: x.load.p50_ms), 1)} / {fmt(empty.median(lambda x: x.load.p99_ms), 1)} "
                f"| {fmt(grown.median(lambda x: x.load.p50_ms), 1)} / {fmt(grown.median(lambda x: x.load.p99_ms), 1)} "
                f"| {fmt(ratio)} | {fmt(empty.median(lambda x: x.load.rps), 0)} | {fmt(grown.median(lambda x: x.load.rps), 0)} "
                f"| {sum(x.load.bad for v in variants for x in v.runs)} |"
            )
            sys.stdout.flush()
            report.add(
                f"latency p50 with {counts['grown']} items / near-empty, {op_name} <= {TARGET_GROWTH}",
                ratio,
                ratio <= TARGET_GROWTH,
            )
        print_query_attribution(stores)
    finally:
        for served in servers.values():
            served.stop()


# Main -------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.side_by_side", description=__doc__)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run")
    parser.add_argument("--alternations", type=int, default=3)
    parser.add_argument(
        "--concurrency", type=lambda s: [int(x) for x in s.split(",")], default=[1, 16, 64]
    )
    parser.add_argument(
        "--workers",
        type=lambda s: [int(x) for x in s.split(",")],
        default=None,
        help="default: 1,2 when `serve` has --workers, else 1",
    )
    parser.add_argument(
        "--only", nargs="*", default=[], help="operations whose name has one of these words"
    )
    parser.add_argument("--grown-items", type=int, default=100_000)
    parser.add_argument("--grown-sessions", type=int, default=5_000)
    parser.add_argument("--growth-connections", type=int, default=1)
    parser.add_argument(
        "--skip", nargs="*", default=[], choices=["side-by-side", "logins", "growth"]
    )
    parser.add_argument(
        "--baseline-tree",
        type=Path,
        help="also run this checkout's `sessiongraph serve` (1 worker) in the same alternations",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="prove the harness: 2 s runs, 2 alternations, 10k items",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.alternations = 2.0, 2
        args.grown_items, args.grown_sessions = 10_000, 500
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    for reason in (dynamodb_local.unavailable_reason(), wrk_unavailable_reason()):
        if reason:
            print(f"skipping the GraphQL/REST benchmarks: {reason}", file=sys.stderr)
            return 0
    began = time.monotonic()
    workers_available = serve_supports_workers()
    worker_counts = args.workers or ([1, 2] if workers_available else [1])
    if not workers_available:
        worker_counts = [w for w in worker_counts if w == 1]
    print("## GraphQL against REST, over HTTP (bench/side_by_side.py)\n")
    print(f"- commit {commit()}, {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC")
    print(f"- CPUs available (nproc): {len(os.sched_getaffinity(0))}, {cpu_model()}")
    print(f"- Python {platform.python_version()} ({platform.machine()}), wrk {_wrk_version()}")
    print(f"- DynamoDB Local {dynamodb_local_version()}, in memory, on 127.0.0.1")
    print(
        f"- command: python -m bench.side_by_side {' '.join(argv if argv is not None else sys.argv[1:])}"
    )
    print_machine("Before the run")
    report = Report()
    database = dynamodb_local.start()
    log_dir = Path(tempfile.mkdtemp(prefix="sessiongraph-bench-"))
    servers: dict[tuple[str, int], Served] = {}
    try:
        client = database.client(pool_size=32)
        table = f"sbs_{os.getpid()}_{int(time.time())}"
        create_table(client, table)
        store = Store(client=client, table_name=table)
        fixture = seed_side_by_side(store)
        if not {"side-by-side", "logins"} <= set(args.skip):
            common = {
                "endpoint_url": database.endpoint_url,
                "table_name": table,
                "admin_token": ADMIN_TOKEN,
                "log_dir": log_dir,
                "env": PROBE_ENV,
            }
            for workers in worker_counts:
                servers["graphql", workers] = sessiongraph_serve(
                    f"sessiongraph {workers}w", workers=workers, **common
                )
                servers["rest", workers] = rest_serve(f"rest {workers}w", workers=workers, **common)
            if args.baseline_tree:
                servers["baseline", 1] = sessiongraph_serve(
                    "sessiongraph baseline 1w", workers=1, tree=args.baseline_tree, **common
                )
        if "side-by-side" not in args.skip:
            experiment_side_by_side(servers, fixture, args, report)
        if "logins" not in args.skip:
            experiment_logins(servers, store, args, report)
        for served in servers.values():
            served.stop()
        servers.clear()
        if "growth" not in args.skip:
            experiment_growth(database.endpoint_url, client, args, log_dir, report)
    finally:
        for served in servers.values():
            served.stop()
        database.stop()
    report.print()
    print_machine("After the run")
    print(f"\nServer logs: {log_dir}\nTotal time: {time.monotonic() - began:.0f} s")
    return 0


def _wrk_version() -> str:
    done = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    return (done.stdout or done.stderr).split(" [")[0].removeprefix("wrk ").strip()


if __name__ == "__main__":
    sys.exit(main())
