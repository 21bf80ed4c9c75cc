"""Revoked sessions (generation below the customer's) whose items the clean-up has not
deleted yet read as absent everywhere, like expired ones; kept sessions still read.

The clean-up deletes with BatchWriteItem: holding its first call (`paused`) keeps every
revoked item in the table while the reads run, and `in_request=0` deletes nothing before
the mutation answers. The items' presence is checked directly, so the reads prove the filter.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from starlette.testclient import TestClient

from dynamo.keys import child_session_key, parent_session_key
from dynamo.runner import BlockingCallRunner
from dynamo.sessions import get_records_by_keys
from dynamo.store import Store
from resolvers.cleanup import BackgroundCleanup
from server.app import create_app
from server.services import Services
from server.settings import Settings
from tests.support.api import ADMIN_TOKEN, CLIENT_ADDRESS, Api
from tests.support.race import paused

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a brand new passphrase"
LOGOUT_ALL = 'mutation { logoutAll(customerId: "alice") { endedSessionIds } }'
CHANGE = (
    "mutation($c: String!, $n: String!) "
    "{ changePassword(currentPassword: $c, newPassword: $n) { endedSessionIds } }"
)
LISTING = """query($after: String) { customer(customerId: "alice") {
  sessions(first: 1, after: $after) {
    edges { node { sessionId state childSessions { edges { node { sessionId state } } } } }
    pageInfo { hasNextPage endCursor } } } }"""
ONE = """query($s: String!, $n: ID!) {
  session(sessionId: $s) { sessionId state }
  node(id: $n) { ... on Session { sessionId } }
  sessionByChildSessionId(childSessionId: $s) { sessionId } }"""
IN_CUSTOMER = """query($s: String!) { customer(customerId: "alice") { session(sessionId: $s)
  { sessionId } } }"""


@contextmanager
def app(store: Store) -> Iterator[Api]:
    runner = BlockingCallRunner(2)  # one thread is parked by the held clean-up
    cleanup = BackgroundCleanup(store, runner, in_request=0)
    services = Services(store=store, runner=runner, cleanup=cleanup)
    try:
        with TestClient(
            create_app(Settings(admin_token=ADMIN_TOKEN), services), client=CLIENT_ADDRESS
        ) as client:
            yield Api(client)
    finally:
        runner.close()


def _node_id(api: Api, session_id: str) -> str:
    found = api.admin("query($s: String!) { session(sessionId: $s) { id } }", {"s": session_id})
    return str(found.ok()["session"]["id"])


def _listed(api: Api, token: str | None) -> tuple[dict[str, list[str]], int]:
    """Every page of `customer.sessions` (first: 1), following endCursor: {parent: children}."""
    seen: dict[str, list[str]] = {}
    after, pages = None, 0
    while True:
        query = (
            api(LISTING, {"after": after}, token=token)
            if token
            else api.admin(LISTING, {"after": after})
        )
        connection = query.ok()["customer"]["sessions"]
        pages += 1
        for edge in connection["edges"]:
            node = edge["node"]
            assert node["state"] == "ACTIVE"
            seen[node["sessionId"]] = [
                c["node"]["sessionId"] for c in node["childSessions"]["edges"]
            ]
        if not connection["pageInfo"]["hasNextPage"]:
            return seen, pages
        after = connection["pageInfo"]["endCursor"]
        assert after is not None and pages < 20


def _absent(api: Api, session_id: str, node_id: str, token: str | None = None) -> None:
    variables = {"s": session_id, "n": node_id}
    result = api(ONE, variables, token=token) if token else api.admin(ONE, variables)
    assert result.ok() == {"session": None, "node": None, "sessionByChildSessionId": None}
    if token is None:
        assert api.admin(IN_CUSTOMER, {"s": session_id}).ok()["customer"]["session"] is None


def _items_left(store: Store, keys: list[dict[str, str]]) -> int:
    return sum(1 for record in get_records_by_keys(store, keys) if record is not None)


def test_after_logout_all_revoked_sessions_read_as_absent(store: Store, calls: Any) -> None:
    with app(store) as api:
        api.register("alice", PASSWORD)
        token_a, a = api.login("alice", PASSWORD)
        _, b = api.login("alice", PASSWORD)
        _, a1 = api.child(token_a)
        nodes = {s: _node_id(api, s) for s in (a, b, a1)}
        assert _listed(api, None)[0] == {a: [a1], b: []}
        keys = [
            parent_session_key(a, "alice"),
            parent_session_key(b, "alice"),
            child_session_key(a, a1),
        ]
        with paused(store.client, "BatchWriteItem") as cleanup:
            api.admin(LOGOUT_ALL).ok()
            cleanup.wait_reached()  # the background clean-up is held before it deletes
            assert _items_left(store, keys) == 3
            calls.reset()
            listed, pages = _listed(api, None)
            # The first page's one session was dropped: the page is empty, yet its endCursor
            # (where the Query stopped) leads on to the second page, not back to the first.
            assert listed == {} and pages == 2
            # Two sessions on two pages of one (one of them empty once filtered): each page
            # is one GSI Query and one batched read of the customer item, nothing more.
            assert calls.of("Query") == pages and calls.of("BatchGetItem") == pages
            assert calls.total == 2 * pages
            for session_id in (a, b, a1):
                _absent(api, session_id, nodes[session_id])
            assert _items_left(store, keys) == 3  # still there: the reads filtered them
            cleanup.release()


def test_after_change_password_only_the_kept_session_and_its_new_children_read(
    store: Store, calls: Any
) -> None:
    with app(store) as api:
        api.register("alice", PASSWORD)
        token_a, a = api.login("alice", PASSWORD)
        _, b = api.login("alice", PASSWORD)
        _, c = api.login("alice", PASSWORD)
        _, a1 = api.child(token_a)
        nodes = {s: _node_id(api, s) for s in (a, b, c, a1)}
        with paused(store.client, "BatchWriteItem") as cleanup:
            api(CHANGE, {"c": PASSWORD, "n": NEW_PASSWORD}, token=token_a).ok()
            cleanup.wait_reached()
            _, a2 = api.child(token_a)  # made after the change: current
            keys = [parent_session_key(s, "alice") for s in (b, c)] + [child_session_key(a, a1)]
            assert _items_left(store, keys) == 3
            calls.reset()
            listed, pages = _listed(api, token_a)
            assert listed == {a: [a2]}
            # The caller's token check read the customer item: no further read of it.
            assert calls.of("BatchGetItem") == pages  # the token check, once per request
            for session_id in (b, c, a1):
                _absent(api, session_id, nodes[session_id])
                _absent(api, session_id, nodes[session_id], token=token_a)
            kept = api(ONE, {"s": a2, "n": nodes[a]}, token=token_a).ok()
            assert kept["node"] == {"sessionId": a}
            assert kept["sessionByChildSessionId"] == {"sessionId": a}
            assert kept["session"] == {"sessionId": a2, "state": "ACTIVE"}
            assert _listed(api, None)[0] == {a: [a2]}
            cleanup.release()
