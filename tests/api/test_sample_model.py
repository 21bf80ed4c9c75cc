"""The AWS sample model, loaded with `sessiongraph load`, answers all eight access patterns."""

from __future__ import annotations

import pytest

from server.cli import main
from tests.conftest import SAMPLE_MODEL


@pytest.fixture
def sample_loaded(backend, table_name, store, request):
    if backend == "moto":
        # moto intercepts calls to AWS's own endpoint in this process.
        target = ["--store", "aws"]
    else:
        target = ["--endpoint-url", request.getfixturevalue("dynamodb_local_server").endpoint_url]
    assert main(["load", *target, "--table-name", table_name, str(SAMPLE_MODEL)]) == 0


def test_get_session_by_session_id(api, sample_loaded):
    data = api.admin(
        '{ session(sessionId: "a81kq2zz") { sessionId state isChild lastLoginTime customer { customerId } expiresAt } }'
    ).ok()
    assert data["session"] == {
        "sessionId": "a81kq2zz",
        "state": "ACTIVE",
        "isChild": False,
        "lastLoginTime": "2024-02-03T08:15:00.000Z",  # zone-less in the table: read as UTC
        "customer": {"customerId": "MNO"},
        "expiresAt": None,  # no expires_at: never expires
    }


def test_get_child_sessions_by_session_id(api, sample_loaded):
    data = api.admin(
        '{ session(sessionId: "a81kq2zz") { childSessions { edges { node { sessionId state parent { sessionId } customer { customerId } } } } } }'
    ).ok()
    children = {
        e["node"]["sessionId"]: e["node"] for e in data["session"]["childSessions"]["edges"]
    }
    assert set(children) == {"p0o9i8u7", "m3n4b5v6", "zx90cv12"}
    assert children["m3n4b5v6"]["state"] == "CLOSING"
    # Child items carry no customer_id: the customer comes from the parent.
    assert all(c["customer"]["customerId"] == "MNO" for c in children.values())
    assert all(c["parent"]["sessionId"] == "a81kq2zz" for c in children.values())


def test_get_session_by_child_session_id(api, sample_loaded):
    data = api.admin(
        '{ sessionByChildSessionId(childSessionId: "q1w2e3r4") { sessionId customer { customerId } } child: session(sessionId: "q1w2e3r4") { isChild parent { sessionId } customer { customerId } } }'
    ).ok()
    assert data["sessionByChildSessionId"] == {
        "sessionId": "c09lk8jj",
        "customer": {"customerId": "PQR"},
    }
    assert data["child"] == {
        "isChild": True,
        "parent": {"sessionId": "c09lk8jj"},
        "customer": {"customerId": "PQR"},
    }


def test_get_last_login_time_by_customer_id(api, sample_loaded):
    # b77tr5ee sorts after a81kq2zz but logged in earlier: key order is not time order here.
    data = api.admin('{ customer(customerId: "MNO") { lastLoginTime } }').ok()
    assert data["customer"]["lastLoginTime"] == "2024-02-03T08:15:00.000Z"


def test_get_session_id_by_customer_id(api, sample_loaded):
    data = api.admin(
        '{ customer(customerId: "MNO") { mine: session(sessionId: "b77tr5ee") { state } other: session(sessionId: "c09lk8jj") { state } } }'
    ).ok()
    assert data["customer"] == {"mine": {"state": "CLOSING"}, "other": None}


def test_get_sessions_by_customer_id(api, sample_loaded):
    data = api.admin(
        '{ customer(customerId: "MNO") { sessions { edges { node { sessionId } } pageInfo { hasNextPage } } } }'
    ).ok()
    sessions = data["customer"]["sessions"]
    assert sorted(e["node"]["sessionId"] for e in sessions["edges"]) == ["a81kq2zz", "b77tr5ee"]
    assert sessions["pageInfo"]["hasNextPage"] is False


def test_expire_session_cascades_to_foreign_children(api, sample_loaded):
    data = api.admin('mutation { logout(sessionId: "a81kq2zz") { endedSessionIds } }').ok()
    assert set(data["logout"]["endedSessionIds"]) == {
        "a81kq2zz",
        "p0o9i8u7",
        "m3n4b5v6",
        "zx90cv12",
    }
    gone = api.admin(
        '{ a: session(sessionId: "a81kq2zz") { sessionId } b: session(sessionId: "p0o9i8u7") { sessionId } }'
    ).ok()
    assert gone == {"a": None, "b": None}


def test_create_session_on_a_foreign_table(api, sample_loaded):
    """SSO login (admin, no password) for a customer that has only foreign sessions."""
    data = api.admin(
        'mutation { login(customerId: "STU") { accessToken session { sessionId customer { customerId } } } }'
    ).ok()
    token = data["login"]["accessToken"]
    viewer = api(
        "{ viewer { sessionId customer { sessions { edges { node { sessionId } } } } } }",
        token=token,
    ).ok()
    ids = {e["node"]["sessionId"] for e in viewer["viewer"]["customer"]["sessions"]["edges"]}
    assert ids == {"d55gh3ff", data["login"]["session"]["sessionId"]}


def test_foreign_tokens_are_not_tokens(api, sample_loaded):
    """The sample stores raw values in access_token; nothing in it logs anyone in."""
    for raw in ("x1y2z3w4", "u7y6t5r4"):
        assert api("{ viewer { sessionId } }", token=raw).codes == ["UNAUTHENTICATED"]
