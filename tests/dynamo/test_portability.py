"""Request paths use only the portable API: no Scan, no transactions (docs/design.md section 1)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

from dynamo.batch import batch_delete, batch_get, batch_put
from dynamo.cleanup import end_listed_sessions, read_customer, sweep_customer
from dynamo.customers import (
    get_customer,
    get_customers,
    record_login,
    register_customer,
)
from dynamo.lifecycle import (
    create_child_session,
    enforce_session_cap,
    expire_child_session,
    expire_session,
    parent_deadline_cap,
    touch_session,
)
from dynamo.revocation import change_password_keeping, end_all_sessions
from dynamo.sessions import (
    create_session,
    get_child_session,
    get_child_session_by_child_session_id,
    get_child_sessions_by_session_id,
    get_last_login_time_by_customer_id,
    get_session_by_child_session_id,
    get_session_by_session_id,
    get_session_id_by_customer_id,
    get_sessions_by_customer_id,
    get_sessions_by_keys,
    list_all_sessions_of_customer,
)
from dynamo.store import SessionPolicy
from dynamo.table_sweep import sweep_table
from dynamo.workbench import load_model
from tests.conftest import SAMPLE_MODEL

PORTABLE = {
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "BatchGetItem",
    "BatchWriteItem",
}
FORBIDDEN = {"Scan", "TransactWriteItems", "TransactGetItems", "ExecuteStatement"}


def test_every_storage_function_uses_only_portable_calls(
    store: Any, calls: Any, clock: Any
) -> None:
    calls.reset()
    register_customer(store, "alice", "argon-hash")
    end_all_sessions(store, "alice")
    assert get_customer(store, "alice") is not None
    assert get_customers(store, ["alice", "nobody"])[1] is None

    parent = create_session(store, "alice", token_hash="h")
    assert parent.last_login_time is not None
    record_login(store, "alice", parent.last_login_time)
    child = create_child_session(store, parent, client="app", token_hash="c")
    other = create_child_session(store, parent, client="app", token_hash="c")

    assert get_session_by_session_id(store, parent.session_id, "alice") is not None
    assert get_session_by_session_id(store, parent.session_id) is not None
    assert get_sessions_by_keys(store, [parent.key, child.key])[1] is not None
    assert get_child_session(store, parent.session_id, child.session_id) is not None
    page = get_child_sessions_by_session_id(store, parent.session_id, first=1)
    get_child_sessions_by_session_id(store, parent.session_id, after=page.end_cursor)
    assert get_child_session_by_child_session_id(store, child.session_id) is not None
    assert get_session_by_child_session_id(store, child.session_id) is not None
    assert get_last_login_time_by_customer_id(store, "alice") is not None
    assert get_session_id_by_customer_id(store, "alice", parent.session_id) is not None
    sessions = get_sessions_by_customer_id(store, "alice", first=1)
    get_sessions_by_customer_id(store, "alice", after=sessions.end_cursor)
    assert list_all_sessions_of_customer(store, "alice")

    clock.advance(timedelta(minutes=2))
    touch_session(store, parent)
    touch_session(store, child, cap=parent_deadline_cap(parent, store))
    expire_child_session(store, parent.session_id, other.session_id)

    batch_put(store, [{"PK": {"S": "suuid#x"}, "SK": {"S": "c#bob"}}])
    assert batch_get(store, [{"PK": "suuid#x", "SK": "c#bob"}])[0] is not None
    batch_delete(store, [{"PK": "suuid#x", "SK": "c#bob"}])
    load_model(store, SAMPLE_MODEL)

    capped = dataclasses.replace(store, policy=SessionPolicy(max_sessions_per_customer=1))
    create_session(store, "alice", token_hash="h")
    enforce_session_cap(capped, create_session(store, "alice", token_hash="h"))
    kept = create_session(store, "alice", token_hash="h")
    change_password_keeping(store, kept, kept.session_generation, "argon-hash-2")
    expire_session(store, parent.session_id, "alice")
    end_listed_sessions(store, read_customer(store, "alice"), "alice", limit=10)
    sweep_customer(store, "alice")
    sweep_customer(store, "MNO")

    used = set(calls.counts)
    assert not used & FORBIDDEN, dict(calls.counts)

    assert used <= PORTABLE, dict(calls.counts)
    assert used == PORTABLE  # every portable call was exercised: the check above means something
    queries = calls.params_of("Query")
    assert all(params.get("IndexName") in (None, "GSI1_inverse") for params in queries)

    calls.reset()
    sweep_table(store)  # `sessiongraph sweep --all`: an operator's command, not a request path
    assert set(calls.counts) - PORTABLE == {"Scan"}
