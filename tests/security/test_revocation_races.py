"""Issue 7, defects 1, 4, 5, 6 and 7, raced through the API: one request is held at a named
DynamoDB call (tests/support/race.py) while another runs start to end, then it resumes.
No sleeps. The app gets a pool of 3 threads (one may be held), on moto too."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from dynamo import lifecycle
from dynamo.clock import ManualClock
from dynamo.keys import child_session_key, parent_session_key
from dynamo.runner import BlockingCallRunner
from dynamo.sessions import (
    create_session,
    get_sessions_by_customer_id,
    list_all_sessions_of_customer,
)
from dynamo.store import SessionPolicy, Store, to_attributes
from resolvers import cleanup, mutations
from resolvers.errors import INVALID_TOKEN
from resolvers.tokens import TokenKey, encode_token, hash_secret, new_secret
from server.app import create_app
from server.services import Services
from server.settings import Settings
from tests.security.helpers import (
    LOGOUT_ALL,
    PASSWORD,
    VIEWER,
    assert_refused,
    assert_token_refused,
    assert_token_works,
)
from tests.support.api import ADMIN_TOKEN, CLIENT_ADDRESS, Api
from tests.support.race import Background, paused

NEW_PASSWORD = "a brand new passphrase"
CHANGE = (
    "mutation($c: String!, $n: String!) "
    "{ changePassword(currentPassword: $c, newPassword: $n) { endedSessionIds } }"
)
LOGOUT = "mutation { logout { endedSessionIds } }"
CHILD = 'mutation { createChildSession(client: "app") { accessToken } }'
SSO = "mutation($c: String!) { login(customerId: $c) { accessToken session { sessionId } } }"
LOGIN = (
    "mutation($c: String!, $p: String) "
    "{ login(customerId: $c, password: $p) { accessToken session { sessionId } } }"
)


@dataclasses.dataclass
class App:
    api: Api
    services: Services

    def settle(self) -> None:
        """Wait for the background clean-up (moto must not see two threads at once)."""
        portal = self.api.client.portal
        cleanup = getattr(
            self.services, "cleanup", None
        )  # none before issue 7 (for checks on main)
        assert portal is not None
        if cleanup is not None:
            portal.call(cleanup.wait_idle)

    def sso(self, customer_id: str) -> tuple[str, str]:
        data = self.api.admin(SSO, {"c": customer_id}).ok()["login"]
        return data["accessToken"], data["session"]["sessionId"]


@contextmanager
def app(store: Store, *, pool_size: int = 3, **settings: Any) -> Iterator[App]:
    runner = BlockingCallRunner(pool_size)
    services = Services(store=store, runner=runner)
    try:
        server = create_app(Settings(admin_token=ADMIN_TOKEN, **settings), services)
        with TestClient(server, client=CLIENT_ADDRESS) as client:
            yield App(Api(client), services)
    finally:
        runner.close()


def _is_session_put(customer_id: str) -> Any:
    def match(params: dict[str, Any]) -> bool:
        item = params["Item"]
        return item["PK"]["S"].startswith("suuid#") and item["SK"]["S"] == f"c#{customer_id}"

    return match


# -- defect 1 ---------------------------------------------------------------------------------


def test_a_login_with_the_old_password_in_flight_during_a_change_is_dead(
    store: Store, clock: ManualClock
) -> None:
    """Defect 1: the login read the customer (old hash, old generation) in its attempt's
    reservation before the change, and goes on after it. Its last write is conditioned on
    that generation and hash: no token, and its session is taken back."""
    with app(store) as a:
        a.api.register("alice", PASSWORD)
        token, session_id = a.api.login("alice", PASSWORD)
        customer_write = lambda p: p["Key"]["PK"]["S"] == "c#alice"  # noqa: E731
        with paused(store.client, "UpdateItem", when=customer_write, after=True) as pause:
            late = Background(lambda: a.api(LOGIN, {"c": "alice", "p": PASSWORD}))
            pause.wait_reached()  # it holds the old hash; argon2 and the writes are to come
            a.api(CHANGE, {"c": PASSWORD, "n": NEW_PASSWORD}, token=token).ok()
            clock.advance(timedelta(seconds=1))  # as in the report: 0.6 s later
            pause.release()
            refused = late.result()
        a.settle()
        assert refused.codes == ["UNAUTHENTICATED"], refused.body
        sessions = [p.session_id for p in list_all_sessions_of_customer(store, "alice")]
        assert sessions == [session_id]
        assert_token_works(a.api, token, session_id)


def test_a_session_written_after_a_password_change_by_a_login_before_it_is_dead(
    store: Store, clock: ManualClock
) -> None:
    """Defect 1, the part this branch owns: the session's write lands after the change; it
    carries the generation its login read before, so it is dead on arrival (the old code
    compared the login's clock with the change's: equal clocks here, a second apart). Since
    the lockout work, the login's last write is conditioned on that generation too, so the
    login hands out no token at all and takes its session back."""
    with app(store) as a:
        a.api.register("alice", PASSWORD)
        token, session_id = a.api.login("alice", PASSWORD)
        with paused(store.client, "PutItem", when=_is_session_put("alice")) as pause:
            late = Background(lambda: a.api.admin(SSO, {"c": "alice"}))
            pause.wait_reached()
            clock.advance(timedelta(seconds=-1))  # the changing server's clock is 1 s behind
            a.api(CHANGE, {"c": PASSWORD, "n": NEW_PASSWORD}, token=token).ok()
            pause.release()
            refused = late.result()
        a.settle()
        assert refused.codes == ["UNAUTHENTICATED"], refused.body
        assert refused.data is None
        sessions = [p.session_id for p in list_all_sessions_of_customer(store, "alice")]
        assert sessions == [session_id]  # the late login's session was taken back
        assert_token_works(a.api, token, session_id)


# -- defect 4 ---------------------------------------------------------------------------------


def _many_sessions(store: Store, customer_id: str, count: int) -> None:
    for _ in range(count):
        create_session(store, customer_id, token_hash="h", generation=0)


def _child_query(params: dict[str, Any]) -> bool:
    """The clean-up's Query for a session's children (base table)."""
    return "IndexName" not in params and ":child" in params.get("ExpressionAttributeValues", {})


def test_logout_all_of_300_sessions_answers_in_a_handful_of_calls(store: Store, calls: Any) -> None:
    """Defect 4: one conditional write revokes them all; one page is deleted before the
    answer; the rest is not the request's work."""
    _many_sessions(store, "alice", 299)
    with app(store) as a:
        token, _ = a.sso("alice")
        calls.reset()
        with paused(store.client, "Query", when=_child_query) as pause:
            result = a.api(LOGOUT_ALL, token=token)
            pause.wait_reached()  # the background's first call: held, so not counted yet
            request_calls = dict(calls.counts)
        a.settle()
        ended = result.ok()["logoutAll"]["endedSessionIds"]
        assert len(ended) == 100  # one page (SESSIONGRAPH_CLEANUP_IN_REQUEST)
        # The token (1 BatchGetItem), the bump (1 UpdateItem), one GSI page (1 Query), and
        # 100 deletes in BatchWriteItem pages of 25: 7 calls, whatever the number of sessions.
        assert request_calls == {
            "BatchGetItem": 1,
            "UpdateItem": 1,
            "Query": 1,
            "BatchWriteItem": 4,
        }
        assert_token_refused(a.api, token)
        assert get_sessions_by_customer_id(store, "alice", first=5).records == []


def test_logout_all_answers_while_its_clean_up_is_still_held(store: Store) -> None:
    """Defect 4: the rest of the clean-up runs in the background, not in the request: the
    request has answered while the clean-up's first call is held; released, it finishes."""
    _many_sessions(store, "alice", 149)
    with app(store) as a:
        token, _ = a.sso("alice")
        with paused(store.client, "Query", when=_child_query) as pause:
            request = Background(lambda: a.api(LOGOUT_ALL, token=token))
            ended = request.result(timeout=20).ok()["logoutAll"]["endedSessionIds"]
            assert len(ended) == 100
            pause.wait_reached()  # the background clean-up started, and is held
            assert len(get_sessions_by_customer_id(store, "alice", first=100).records) == 50
            pause.release()
        a.settle()
        assert get_sessions_by_customer_id(store, "alice", first=100).records == []
        assert a.services.cleanup.results[-1][1].complete


def test_change_password_of_300_sessions_answers_in_a_handful_of_calls(
    store: Store, calls: Any
) -> None:
    with app(store) as a:
        a.api.register("alice", PASSWORD)
        _many_sessions(store, "alice", 299)
        token, session_id = a.api.login("alice", PASSWORD)
        calls.reset()
        with paused(store.client, "Query", when=_child_query) as pause:
            result = a.api(CHANGE, {"c": PASSWORD, "n": NEW_PASSWORD}, token=token)
            pause.wait_reached()
            request_calls = dict(calls.counts)
        a.settle()
        assert len(result.ok()["changePassword"]["endedSessionIds"]) == 100
        # Token; the password check's attempt reserved and taken back (2 UpdateItem, where
        # it was one GetItem before the lockout became atomic); bump and restamp (2
        # UpdateItem); one page.
        assert request_calls == {
            "BatchGetItem": 1,
            "UpdateItem": 4,
            "Query": 1,
            "BatchWriteItem": 4,
        }
        assert_token_works(a.api, token, session_id)


# -- defect 5 ---------------------------------------------------------------------------------


def test_concurrent_logins_over_the_cap_never_hand_out_a_dead_token(store: Store) -> None:
    """Defect 5: cap 2, four logins. The first is held after writing its session, at its
    cap pass; the other three run start to end (each token checked as it is returned); the
    third ends the first's session. Released, the first must not hand out that dead token."""
    capped = dataclasses.replace(store, policy=SessionPolicy(max_sessions_per_customer=2))
    gsi_listing = lambda p: p.get("IndexName") == "GSI1_inverse"  # noqa: E731
    with app(capped) as a:
        with paused(store.client, "Query", when=gsi_listing) as pause:
            first = Background(lambda: a.sso("alice"))
            pause.wait_reached()
            for _ in range(3):
                token, session_id = a.sso("alice")
                assert_token_works(a.api, token, session_id)
            pause.release()
            token, session_id = first.result()
        assert_token_works(a.api, token, session_id)
        listed = get_sessions_by_customer_id(capped, "alice", first=10).records
        assert session_id in [s.session_id for s in listed] and len(listed) == 2


# -- defect 6 ---------------------------------------------------------------------------------


def test_revocation_does_not_depend_on_the_servers_clocks(store: Store) -> None:
    """Defect 6: two servers on one table, the first's clock 10 minutes ahead of the
    second's. A login on the second after a logoutAll on the first is alive; the old clock
    mark (created_at <= the logoutAll's time) killed it."""
    ahead = dataclasses.replace(store, clock=ManualClock(store.clock.now() + timedelta(minutes=10)))
    with app(ahead) as first, app(store) as second:
        token, _ = first.sso("alice")
        first.api(LOGOUT_ALL, token=token).ok()
        first.settle()
        assert_token_refused(first.api, token)
        token, session_id = second.sso("alice")
        assert_token_works(second.api, token, session_id)
        assert_token_works(first.api, token, session_id)


@pytest.fixture
def gsi_lags(monkeypatch: pytest.MonkeyPatch) -> None:
    """The GSI lists none of the customer's sessions yet (as on AWS for a moment after a
    login), so no clean-up deletes them: only the revocation itself ends them. (The names
    of the code before issue 7 are patched too, so the test can be run against it.)"""
    from dynamo.cleanup import ListedEnd, SweepResult

    monkeypatch.setattr(
        mutations, "end_listed_sessions", lambda *a, **k: ListedEnd([], False), raising=False
    )
    monkeypatch.setattr(cleanup, "sweep_customer", lambda *a, **k: SweepResult(), raising=False)
    monkeypatch.setattr(lifecycle, "list_all_sessions_of_customer", lambda *a: [], raising=False)


def test_a_logout_all_landing_late_never_revives_sessions(
    store: Store, clock: ManualClock, gsi_lags: None
) -> None:
    """Defect 6: a logoutAll whose write lands late (after a later one) must not move the
    revocation backwards: what the later one ended stays ended."""
    customer_write = lambda p: p["Key"]["PK"]["S"] == "c#alice"  # noqa: E731
    with app(store) as a:
        holder, _ = a.sso("alice")
        with paused(store.client, "UpdateItem", when=customer_write) as pause:
            late = Background(lambda: a.api(LOGOUT_ALL, {}, token=holder))
            pause.wait_reached()
            clock.advance(timedelta(seconds=5))
            victim, _ = a.sso("alice")  # made after the late one started, before the next
            clock.advance(timedelta(seconds=5))
            a.api.admin('mutation { logoutAll(customerId: "alice") { endedSessionIds } }').ok()
            a.settle()
            assert_token_refused(a.api, victim)
            pause.release()
            late.result().ok()
        a.settle()
        assert_token_refused(a.api, victim)
        assert_token_refused(a.api, holder)


# -- defect 7 ---------------------------------------------------------------------------------


def test_a_closing_sessions_token_finishes_its_own_logout_and_nothing_else(store: Store) -> None:
    """Defect 7: the first logout is held after marking the parent closing, before its
    children are deleted. The same token may call logout again (which finishes the
    cascade); every other field refuses it."""
    with app(store) as a:
        token, session_id = a.sso("alice")
        children = [a.api.child(token, f"app{n}") for n in range(2)]
        with paused(store.client, "BatchWriteItem") as pause:
            first = Background(lambda: a.api(LOGOUT, token=token))
            pause.wait_reached()  # the parent is closing; its children are still there
            for query in (VIEWER, CHILD, LOGOUT_ALL, CHANGE):
                result = a.api(query, {"c": PASSWORD, "n": NEW_PASSWORD}, token=token)
                assert result.codes == ["UNAUTHENTICATED"], (query, result.body)
            for child_token, _ in children:
                assert_token_refused(a.api, child_token)
            other = a.api(
                "mutation($s: String) { logout(sessionId: $s) { endedSessionIds } }",
                {"s": "someone-else"},
                token=token,
            )
            assert other.codes == ["UNAUTHENTICATED"]
            retry = a.api(LOGOUT, token=token).ok()["logout"]["endedSessionIds"]
            assert retry[0] == session_id
            assert sorted(retry[1:]) == sorted(child_id for _, child_id in children)
            pause.release()
            first.result().ok()
        # Finished: the token is no caller at all now, not even for logout.
        assert_refused(a.api(LOGOUT, token=token), "UNAUTHENTICATED", INVALID_TOKEN)
        assert_token_refused(a.api, token)


def test_a_closing_session_of_a_foreign_table_is_finished_by_its_token(store: Store) -> None:
    """Defect 7 on a table written by others: no `expires_at` (TTL would never take it), a
    random id, children without `customer_id`; the parent was left `closing`."""
    secret = new_secret()
    parent = parent_session_key("Xq7", "MNO")
    children = [child_session_key("Xq7", cid) for cid in ("k1", "k2")]
    store.client.put_item(
        TableName=store.table_name,
        Item=to_attributes(
            {**parent, "session_state": "closing", "access_token": hash_secret(secret)}
        ),
    )
    for key in children:
        store.client.put_item(
            TableName=store.table_name,
            Item=to_attributes({**key, "session_state": "closing", "access_token": "x"}),
        )
    token = encode_token(TokenKey("Xq7", "MNO"), secret)
    with app(store) as a:
        assert_token_refused(a.api, token)
        ended = a.api(LOGOUT, token=token).ok()["logout"]["endedSessionIds"]
        assert ended[0] == "Xq7" and sorted(ended[1:]) == ["k1", "k2"]
        for key in [parent, *children]:
            assert "Item" not in store.client.get_item(
                TableName=store.table_name, Key=to_attributes(key), ConsistentRead=True
            )
        assert_refused(a.api(LOGOUT, token=token), "UNAUTHENTICATED", INVALID_TOKEN)
