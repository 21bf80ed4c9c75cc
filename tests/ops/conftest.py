"""Fixtures for the operations tests: tables on DynamoDB Local, a DynamoDB Local of a test
module's own (to freeze with SIGSTOP without touching the shared one), scraping /metrics."""

from __future__ import annotations

import itertools
import os
import signal
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from dynamo.table import create_table
from tests.support import dynamodb_local
from tests.support.servers import ServerProcess

_tables = itertools.count()
PASSWORD = "correct horse battery"
REGISTER = "mutation Register($c: String!, $p: String!) { registerCustomer(customerId: $c, password: $p) { customerId } }"
LOGIN = "mutation Login($c: String!, $p: String) { login(customerId: $c, password: $p) { accessToken session { sessionId } } }"
VIEWER = "query Me { viewer { sessionId } }"


def _require_dynamodb_local() -> None:
    reason = dynamodb_local.unavailable_reason()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the DynamoDB Local half: {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def own_dynamodb_local() -> Iterator[dynamodb_local.DynamoDBLocal]:
    """A DynamoDB Local for this test module alone: tests may freeze it (SIGSTOP)."""
    _require_dynamodb_local()
    server = dynamodb_local.start()
    try:
        yield server
    finally:
        server.process.send_signal(signal.SIGCONT)
        server.stop()


@contextmanager
def frozen(local: dynamodb_local.DynamoDBLocal) -> Iterator[None]:
    """DynamoDB Local stopped (SIGSTOP) for the block; always resumed (SIGCONT)."""
    local.process.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        local.process.send_signal(signal.SIGCONT)


def new_table(local: dynamodb_local.DynamoDBLocal) -> str:
    name = f"ops_t{os.getpid()}_{next(_tables)}"
    create_table(local.client(), name)
    return name


def register_and_login(server: ServerProcess, customer_id: str) -> str:
    server.graphql(REGISTER, {"c": customer_id, "p": PASSWORD}).ok()
    data = server.graphql(LOGIN, {"c": customer_id, "p": PASSWORD}).ok()
    return str(data["login"]["accessToken"])


def scrape(
    server: ServerProcess, token: str | None = None
) -> dict[str, dict[tuple[Any, ...], float]]:
    """`/metrics` as {sample name: {sorted label items: value}}."""
    headers = {"authorization": f"Bearer {token}"} if token else None
    response = server.get("/metrics", headers=headers)
    assert response.status == 200, response.body
    samples: dict[str, dict[tuple[Any, ...], float]] = {}
    for family in text_string_to_metric_families(response.body):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def delta(
    after: dict[str, dict[tuple[Any, ...], float]],
    before: dict[str, dict[tuple[Any, ...], float]],
    name: str,
    by: str | tuple[str, ...] | None = None,
) -> Counter[Any]:
    """How much sample `name` moved, summed by one label (or a tuple of labels)."""
    moved: Counter[Any] = Counter()
    for labels, value in after.get(name, {}).items():
        change = value - before.get(name, {}).get(labels, 0.0)
        if not change:
            continue
        as_dict = dict(labels)
        if by is None:
            key: Any = None
        elif isinstance(by, str):
            key = as_dict.get(by)
        else:
            key = tuple(as_dict.get(b) for b in by)
        moved[key] += change
    return moved
