"""Attacks found in review: account takeover by registering, query fan-out, siblings seen
through a page count, and sessions the eventually consistent GSI does not list yet."""

from __future__ import annotations

import pytest

from dynamo.cleanup import ListedEnd, SweepResult
from resolvers import cleanup, mutations
from tests.security.helpers import (
    LOGOUT_ALL,
    PASSWORD,
    assert_refused,
    assert_token_refused,
    assert_token_works,
    moto_only,
)
from tests.support.api import ADMIN_TOKEN

pytestmark = moto_only

REGISTER = (
    "mutation($c: String!, $p: String!) "
    "{ registerCustomer(customerId: $c, password: $p) { customerId } }"
)
SSO_LOGIN = "mutation($c: String!) { login(customerId: $c) { accessToken session { sessionId } } }"


def test_registering_cannot_take_over_an_sso_customer(api):
    sso = api(SSO_LOGIN, {"c": "alice"}, token=ADMIN_TOKEN).ok()["login"]
    taken = api(REGISTER, {"c": "alice", "p": "attacker password"})
    assert_refused(taken, "CONFLICT", "customer 'alice' exists already; log in instead", data=None)
    # No password was set: the attacker's password logs nobody in.
    login = api(
        'mutation { login(customerId: "alice", password: "attacker password") { accessToken } }'
    )
    assert login.codes == ["UNAUTHENTICATED"]
    assert_token_works(api, sso["accessToken"], sso["session"]["sessionId"])


def _family(api, token, children):
    for n in range(children):
        api.child(token, f"app{n}")


def test_repeated_pages_are_read_once(api, alice, calls):
    token, _ = alice
    _family(api, token, 10)
    query = (
        "{ viewer { childSessions(first: 10) { edges { node { parent {"
        " childSessions(first: 10) { edges { node { parent {"
        " childSessions(first: 10) { edges { cursor } } } } } } } } } } } }"
    )
    calls.reset()
    data = api(query, token=token).ok()
    level1 = data["viewer"]["childSessions"]["edges"]
    assert len(level1) == 10
    assert all(len(e["node"]["parent"]["childSessions"]["edges"]) == 10 for e in level1)
    # 10 + 100 + 1000 edges, but the same page of the same parent is one Query.
    assert calls.of("Query") == 1
    assert calls.total == 2  # and the token's BatchGetItem


def test_a_query_that_could_return_too_many_sessions_is_refused(api, alice, calls):
    token, _ = alice
    query = (
        "{ viewer { childSessions(first: 100) { edges { node { parent {"
        " childSessions(first: 100) { edges { cursor } } } } } } } }"
    )
    calls.reset()
    result = api(query, token=token)
    assert_refused(
        result,
        "BAD_USER_INPUT",
        "the query could return up to 10100 sessions; the limit is 10000 "
        "(SESSIONGRAPH_MAX_NODES): ask for smaller pages",
    )
    assert calls.total == 0


def test_a_child_learns_nothing_of_its_siblings_from_a_page(api, alice):
    token, parent_id = alice
    child_token, child_id = api.child(token, "shop")
    api.child(token, "forum")
    data = api(
        "{ viewer { parent { sessionId childSessions(first: 1) {"
        " edges { node { sessionId } } pageInfo { hasNextPage } } } } }",
        token=child_token,
    ).ok()
    parent = data["viewer"]["parent"]
    assert parent["sessionId"] == parent_id
    assert parent["childSessions"] == {
        "edges": [{"node": {"sessionId": child_id}}],
        "pageInfo": {"hasNextPage": False},
    }


@pytest.fixture
def gsi_lags(monkeypatch):
    """The GSI has not listed any session yet (as on AWS, for a moment after a login)."""
    monkeypatch.setattr(
        mutations, "end_listed_sessions", lambda store, customer, c, limit: ListedEnd([], False)
    )
    monkeypatch.setattr(cleanup, "sweep_customer", lambda *args, **kwargs: SweepResult())


def test_logout_all_ends_sessions_the_gsi_does_not_list_yet(api, alice, gsi_lags, clock):
    token, _ = alice
    other_token, _ = api.login("alice", PASSWORD)
    child_token, _ = api.child(other_token)
    assert api(LOGOUT_ALL, token=token).ok() == {"logoutAll": {"endedSessionIds": []}}
    for dead in (token, other_token, child_token):
        assert_token_refused(api, dead)
    # A login after the logoutAll works (it is of the next generation).
    new_token, new_id = api.login("alice", PASSWORD)
    assert_token_works(api, new_token, new_id)


def test_change_password_ends_sessions_the_gsi_does_not_list_yet(api, alice, gsi_lags):
    token, session_id = alice
    other_token, _ = api.login("alice", PASSWORD)
    change = api(
        "mutation($c: String!, $n: String!) "
        "{ changePassword(currentPassword: $c, newPassword: $n) { endedSessionIds } }",
        {"c": PASSWORD, "n": "a brand new password"},
        token=token,
    )
    change.ok()
    assert_token_refused(api, other_token)
    assert_token_works(api, token, session_id)
