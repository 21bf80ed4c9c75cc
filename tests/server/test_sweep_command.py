"""`sessiongraph sweep`: deleting the items of revoked, closing and expired sessions, for
given customers (GSI Queries) or for the whole table (a paged Scan: an operator's command)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from typing import Any

import pytest

from dynamo.keys import child_session_key
from dynamo.lifecycle import create_child_session
from dynamo.revocation import end_all_sessions
from dynamo.sessions import create_session
from dynamo.store import Store, to_attributes
from dynamo.table import create_table
from server.cli import main

pytestmark = pytest.mark.dynamodb_local
_tables = itertools.count()


@pytest.fixture
def target(dynamodb_local_server: Any) -> Iterator[tuple[Store, list[str]]]:
    client = dynamodb_local_server.client()
    table = f"sweep_{os.getpid()}_{next(_tables)}"
    create_table(client, table)
    yield (
        Store(client=client, table_name=table),
        ["--endpoint-url", dynamodb_local_server.endpoint_url, "--table-name", table],
    )
    client.delete_table(TableName=table)


def _exists(store: Store, key: dict[str, str]) -> bool:
    found = store.client.get_item(
        TableName=store.table_name, Key=to_attributes(key), ConsistentRead=True
    )
    return "Item" in found


def test_sweep_a_customer_deletes_only_its_dead_sessions(
    target: tuple[Store, list[str]], capsys: Any
) -> None:
    store, args = target
    dead = [create_session(store, "alice", token_hash="h") for _ in range(3)]
    children = [create_child_session(store, s, client="app", token_hash="c") for s in dead]
    end_all_sessions(store, "alice")
    alive = create_session(store, "alice", token_hash="h")
    bobs = create_session(store, "bob", token_hash="h")
    end_all_sessions(store, "bob")  # dead too, but bob is not named

    assert main(["sweep", *args, "--customer", "alice"]) == 0
    assert "deleted 6 items" in capsys.readouterr().out
    assert not any(_exists(store, s.key) for s in [*dead, *children])
    assert _exists(store, alive.key) and _exists(store, bobs.key)


def test_sweep_all_scans_for_dead_sessions_and_orphaned_children(
    target: tuple[Store, list[str]], capsys: Any
) -> None:
    store, args = target
    live = create_session(store, "carol", token_hash="h")
    live_child = create_child_session(store, live, client="app", token_hash="c")
    revoked = create_session(store, "dave", token_hash="h")
    end_all_sessions(store, "dave")
    closing = create_session(store, "erin", token_hash="h")
    store.client.update_item(
        TableName=store.table_name,
        Key=to_attributes(closing.key),
        UpdateExpression="SET session_state = :c",
        ExpressionAttributeValues={":c": {"S": "closing"}},
    )
    orphan = child_session_key("gone-parent", "k1")  # a foreign child: no customer_id either
    store.client.put_item(
        TableName=store.table_name,
        Item=to_attributes({**orphan, "session_state": "active", "access_token": "x"}),
    )

    assert main(["sweep", *args, "--all", "--max-items", "1"]) == 3  # stopped at its budget
    assert main(["sweep", *args, "--all"]) == 0
    assert "deleted" in capsys.readouterr().out
    assert not any(_exists(store, k) for k in (revoked.key, closing.key, orphan))
    assert _exists(store, live.key) and _exists(store, live_child.key)
    assert _exists(store, {"PK": "c#dave", "SK": "c#dave"})  # customers are kept


def test_sweep_needs_a_customer_or_all(target: tuple[Store, list[str]], capsys: Any) -> None:
    _, args = target
    assert main(["sweep", *args]) == 2
    assert "--customer" in capsys.readouterr().err
