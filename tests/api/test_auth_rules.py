"""Who may do what (docs/design.md section 4), through the real GraphQL endpoint.

One test per row of the auth table, and one per thing a caller must not reach. What a
caller may not read looks the same as what does not exist: `null`, not an error.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from dynamo.clock import ManualClock
from schema.scalars import serialize_datetime
from tests.support.api import ADMIN_TOKEN, Api, GraphQLResult

PASSWORD = "correct horse battery"

VIEWER = "{ viewer { sessionId } }"
VIEWER_FULL = (
    "{ viewer { id sessionId isChild client customer { customerId } parent { sessionId } } }"
)
SESSION = "query($s: String!) { session(sessionId: $s) { sessionId } }"
SESSION_WITH_CHILDREN = """
query($s: String!) {
  session(sessionId: $s) { sessionId childSessions { edges { node { sessionId } } } }
}"""
NODE = "query($id: ID!) { node(id: $id) { id ... on Session { sessionId } ... on Customer { customerId } } }"
BY_CHILD = "query($c: String!) { sessionByChildSessionId(childSessionId: $c) { sessionId } }"
CUSTOMER = """
query($c: String!, $s: String!) {
  customer(customerId: $c) {
    customerId
    lastLoginTime
    sessions { edges { node { sessionId } } }
    session(sessionId: $s) { sessionId }
  }
}"""
CUSTOMER_ID_ONLY = "query($c: String!) { customer(customerId: $c) { customerId } }"
LOGIN_NO_PASSWORD = """
mutation($c: String!) { login(customerId: $c) { accessToken session { sessionId } } }"""
LOGIN = """
mutation($c: String!, $p: String) {
  login(customerId: $c, password: $p) { accessToken session { sessionId } }
}"""
CHILD = """
mutation($s: String) {
  createChildSession(client: "sso", sessionId: $s) {
    accessToken
    session { sessionId isChild client parent { sessionId } }
  }
}"""
LOGOUT = "mutation($s: String) { logout(sessionId: $s) { endedSessionIds } }"
LOGOUT_ALL = "mutation($c: String) { logoutAll(customerId: $c) { endedSessionIds } }"


# helpers ---------------------------------------------------------------------------------


def sso(api: Api, customer_id: str) -> tuple[str, str]:
    """A parent session made by the admin's passwordless login: no argon2 work, so fast."""
    data = api.admin(LOGIN_NO_PASSWORD, {"c": customer_id}).ok()["login"]
    return data["accessToken"], data["session"]["sessionId"]


def node_id(api: Api, token: str) -> str:
    """The global id of the token's own session."""
    return str(api("{ viewer { id } }", token=token).ok()["viewer"]["id"])


def customer_node_id(api: Api, token: str) -> str:
    """The global id of the token's customer."""
    return str(api("{ viewer { customer { id } } }", token=token).ok()["viewer"]["customer"]["id"])


def alive(api: Api, token: str, session_id: str) -> bool:
    result = api(VIEWER, token=token)
    if result.codes == ["UNAUTHENTICATED"] and result.data == {"viewer": None}:
        return False
    assert result.ok() == {"viewer": {"sessionId": session_id}}
    return True


def refused(result: GraphQLResult, code: str = "UNAUTHENTICATED") -> None:
    """The whole operation failed with exactly one error carrying `code`."""
    assert result.codes == [code], result.body
    assert result.data is None or all(v is None for v in result.data.values()), result.body


def ids(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["sessionId"] for edge in connection["edges"]]


def at(clock: ManualClock, minutes: float = 0) -> str:
    """`minutes` before the clock's now, as the API writes a DateTime."""
    return serialize_datetime(clock.now() - timedelta(minutes=minutes))


# anonymous -------------------------------------------------------------------------------


def test_anonymous_may_register_and_log_in_with_a_password(api: Api) -> None:
    r = api(
        "mutation($c: String!, $p: String!) { registerCustomer(customerId: $c, password: $p) { customerId } }",
        {"c": "alice", "p": PASSWORD},
    )
    assert r.ok() == {"registerCustomer": {"customerId": "alice"}}
    data = api(LOGIN, {"c": "alice", "p": PASSWORD}).ok()["login"]
    assert data["accessToken"]
    assert alive(api, data["accessToken"], data["session"]["sessionId"])


def test_anonymous_login_without_a_password_is_unauthenticated(api: Api) -> None:
    api.register("alice")
    refused(api(LOGIN_NO_PASSWORD, {"c": "alice"}))
    refused(api(LOGIN, {"c": "alice", "p": None}))


def test_anonymous_reads_nothing(api: Api) -> None:
    token, sid = sso(api, "alice")
    _, cid = api.child(token)
    sid_node = node_id(api, token)
    customer_node = customer_node_id(api, token)

    assert api(VIEWER).ok() == {"viewer": None}
    assert api(CUSTOMER_ID_ONLY, {"c": "alice"}).ok() == {"customer": None}
    assert api(SESSION, {"s": sid}).ok() == {"session": None}
    assert api(SESSION, {"s": cid}).ok() == {"session": None}
    assert api(NODE, {"id": sid_node}).ok() == {"node": None}
    assert api(NODE, {"id": customer_node}).ok() == {"node": None}
    assert api(BY_CHILD, {"c": cid}).ok() == {"sessionByChildSessionId": None}


def test_anonymous_may_not_create_children_or_log_out(api: Api) -> None:
    token, sid = sso(api, "alice")
    refused(api(CHILD, {"s": None}))
    refused(api(CHILD, {"s": sid}))
    refused(api(LOGOUT, {"s": None}))
    refused(api(LOGOUT, {"s": sid}))
    refused(api(LOGOUT_ALL, {"c": None}))
    refused(api(LOGOUT_ALL, {"c": "alice"}))
    assert alive(api, token, sid)


def test_anonymous_may_introspect(api: Api) -> None:
    r = api("{ __schema { queryType { name } mutationType { name } } }")
    assert r.ok() == {
        "__schema": {"queryType": {"name": "Query"}, "mutationType": {"name": "Mutation"}}
    }


# parent session --------------------------------------------------------------------------


def test_parent_reads_its_customer(api: Api, clock: ManualClock) -> None:
    api.register("alice")
    token_a, sid_a = api.login("alice")
    clock.advance(timedelta(minutes=5))
    _, sid_b = api.login("alice")  # a second login of the same customer

    data = api(CUSTOMER, {"c": "alice", "s": sid_b}, token=token_a).ok()["customer"]
    assert data["customerId"] == "alice"
    assert data["lastLoginTime"] == at(clock)
    assert ids(data["sessions"]) == [sid_b, sid_a]  # newest first
    assert data["session"] == {"sessionId": sid_b}

    via_viewer = api(
        "query($s: String!) { viewer { customer { customerId lastLoginTime"
        " sessions { edges { node { sessionId } } } session(sessionId: $s) { sessionId } } } }",
        {"s": sid_a},
        token=token_a,
    ).ok()["viewer"]["customer"]
    assert via_viewer == {**data, "session": {"sessionId": sid_a}}
    customer_node = customer_node_id(api, token_a)
    assert api(NODE, {"id": customer_node}, token=token_a).ok() == {
        "node": {"id": customer_node, "customerId": "alice"}
    }


def test_parent_reads_all_its_customers_sessions_and_their_children(api: Api) -> None:
    token_a, sid_a = sso(api, "alice")
    token_b, sid_b = sso(api, "alice")
    _, child_b = api.child(token_b)
    _, child_a = api.child(token_a)
    b_node = node_id(api, token_b)

    assert api(SESSION, {"s": sid_b}, token=token_a).ok() == {"session": {"sessionId": sid_b}}
    assert api(SESSION, {"s": child_b}, token=token_a).ok() == {"session": {"sessionId": child_b}}
    assert api(NODE, {"id": b_node}, token=token_a).ok() == {
        "node": {"id": b_node, "sessionId": sid_b}
    }
    assert api(BY_CHILD, {"c": child_b}, token=token_a).ok() == {
        "sessionByChildSessionId": {"sessionId": sid_b}
    }
    session = api(SESSION_WITH_CHILDREN, {"s": sid_b}, token=token_a).ok()["session"]
    assert ids(session["childSessions"]) == [child_b]
    listed = api(
        "{ viewer { customer { sessions { edges { node { sessionId"
        " childSessions { edges { node { sessionId parent { sessionId } } } } } } } } } }",
        token=token_a,
    ).ok()["viewer"]["customer"]["sessions"]["edges"]
    assert {e["node"]["sessionId"]: ids(e["node"]["childSessions"]) for e in listed} == {
        sid_a: [child_a],
        sid_b: [child_b],
    }


def test_parent_creates_child_sessions(api: Api) -> None:
    token_a, sid_a = sso(api, "alice")
    _, sid_b = sso(api, "alice")

    own = api(CHILD, {"s": None}, token=token_a).ok()["createChildSession"]
    assert own["session"]["isChild"] is True
    assert own["session"]["client"] == "sso"
    assert own["session"]["parent"] == {"sessionId": sid_a}
    assert alive(api, own["accessToken"], own["session"]["sessionId"])

    other = api(CHILD, {"s": sid_b}, token=token_a).ok()["createChildSession"]
    assert other["session"]["parent"] == {"sessionId": sid_b}
    r = api("{ viewer { sessionId parent { sessionId } } }", token=other["accessToken"]).ok()
    assert r == {
        "viewer": {"sessionId": other["session"]["sessionId"], "parent": {"sessionId": sid_b}}
    }


def test_parent_logs_out_another_session_of_its_customer(api: Api) -> None:
    token_a, sid_a = sso(api, "alice")
    token_b, sid_b = sso(api, "alice")
    child_token, child_b = api.child(token_b)

    r = api(LOGOUT, {"s": sid_b}, token=token_a).ok()
    assert r == {"logout": {"endedSessionIds": [sid_b, child_b]}}
    assert not alive(api, token_b, sid_b)
    assert not alive(api, child_token, child_b)
    assert alive(api, token_a, sid_a)


def test_parent_logs_out_all_of_its_customer_including_itself(api: Api, clock: ManualClock) -> None:
    token_a, sid_a = sso(api, "alice")
    token_b, sid_b = sso(api, "alice")
    child_token, child_a = api.child(token_a)
    bob_token, bob_sid = sso(api, "bob")

    ended = api(LOGOUT_ALL, {"c": None}, token=token_a).ok()["logoutAll"]["endedSessionIds"]
    # The parents deleted before the answer; the child ended with them (its item is deleted
    # in the background).
    assert sorted(ended) == sorted([sid_a, sid_b])
    for token, sid in [(token_a, sid_a), (token_b, sid_b), (child_token, child_a)]:
        assert not alive(api, token, sid)
    assert alive(api, bob_token, bob_sid)

    # Naming its own customer is the same thing (a session made after the first logoutAll
    # is of the next generation: no clock involved).
    token_c, sid_c = sso(api, "alice")
    r = api(LOGOUT_ALL, {"c": "alice"}, token=token_c).ok()
    assert r == {"logoutAll": {"endedSessionIds": [sid_c]}}
    assert not alive(api, token_c, sid_c)


# child session ---------------------------------------------------------------------------


def test_child_reads_itself_and_its_parent(api: Api) -> None:
    token, sid = sso(api, "alice")
    child_token, cid = api.child(token)
    parent_node = node_id(api, token)

    viewer = api(VIEWER_FULL, token=child_token).ok()["viewer"]
    assert viewer == {
        "id": viewer["id"],
        "sessionId": cid,
        "isChild": True,
        "client": "shop",
        "customer": {"customerId": "alice"},
        "parent": {"sessionId": sid},
    }
    assert api(SESSION, {"s": cid}, token=child_token).ok() == {"session": {"sessionId": cid}}
    assert api(SESSION, {"s": sid}, token=child_token).ok() == {"session": {"sessionId": sid}}
    assert api(NODE, {"id": viewer["id"]}, token=child_token).ok() == {
        "node": {"id": viewer["id"], "sessionId": cid}
    }
    assert api(NODE, {"id": parent_node}, token=child_token).ok() == {
        "node": {"id": parent_node, "sessionId": sid}
    }
    assert api(BY_CHILD, {"c": cid}, token=child_token).ok() == {
        "sessionByChildSessionId": {"sessionId": sid}
    }


def test_child_reads_nothing_else(api: Api) -> None:
    token, sid = sso(api, "alice")
    _, sid_b = sso(api, "alice")  # another parent session of the same customer
    child_token, cid = api.child(token)
    sibling_token, sibling = api.child(token, client="other")
    sibling_node = node_id(api, sibling_token)
    customer_node = customer_node_id(api, token)

    assert api(SESSION, {"s": sibling}, token=child_token).ok() == {"session": None}
    assert api(NODE, {"id": sibling_node}, token=child_token).ok() == {"node": None}
    assert api(SESSION, {"s": sid_b}, token=child_token).ok() == {"session": None}
    assert api(CUSTOMER_ID_ONLY, {"c": "alice"}, token=child_token).ok() == {"customer": None}
    assert api(NODE, {"id": customer_node}, token=child_token).ok() == {"node": None}
    r = api(
        "query($s: String!) { viewer { customer { lastLoginTime"
        " sessions { edges { node { sessionId } } } session(sessionId: $s) { sessionId } } } }",
        {"s": sid},
        token=child_token,
    ).ok()
    assert r == {
        "viewer": {"customer": {"lastLoginTime": None, "sessions": {"edges": []}, "session": None}}
    }
    # Its parent's children, as the child sees them: itself only.
    r = api(
        "{ viewer { parent { childSessions { edges { node { sessionId } } } } } }",
        token=child_token,
    ).ok()
    assert ids(r["viewer"]["parent"]["childSessions"]) == [cid]


def test_child_may_not_learn_of_a_sibling(api: Api) -> None:
    token, _ = sso(api, "alice")
    child_token, _ = api.child(token)
    _, sibling = api.child(token, client="other")
    unknown = api(BY_CHILD, {"c": "no-such-child"}, token=child_token).ok()
    assert unknown == {"sessionByChildSessionId": None}
    assert api(BY_CHILD, {"c": sibling}, token=child_token).ok() == unknown


def test_child_may_not_create_child_sessions(api: Api) -> None:
    token, sid = sso(api, "alice")
    child_token, _ = api.child(token)
    refused(api(CHILD, {"s": None}, token=child_token), "FORBIDDEN")
    refused(api(CHILD, {"s": sid}, token=child_token), "FORBIDDEN")
    r = api(SESSION_WITH_CHILDREN, {"s": sid}, token=token).ok()
    assert len(r["session"]["childSessions"]["edges"]) == 1


def test_child_logs_itself_out(api: Api) -> None:
    token, sid = sso(api, "alice")
    child_token, cid = api.child(token)
    other_token, other = api.child(token)

    assert api(LOGOUT, {"s": None}, token=child_token).ok() == {
        "logout": {"endedSessionIds": [cid]}
    }
    assert not alive(api, child_token, cid)
    assert alive(api, token, sid)
    assert alive(api, other_token, other)
    r = api(SESSION_WITH_CHILDREN, {"s": sid}, token=token).ok()
    assert ids(r["session"]["childSessions"]) == [other]
    # By its own id, too.
    assert api(LOGOUT, {"s": other}, token=other_token).ok() == {
        "logout": {"endedSessionIds": [other]}
    }
    assert not alive(api, other_token, other)
    assert alive(api, token, sid)


def test_child_may_not_log_out_its_parent_or_a_sibling(api: Api) -> None:
    token, sid = sso(api, "alice")
    child_token, cid = api.child(token)
    sibling_token, sibling = api.child(token)

    refused(api(LOGOUT, {"s": sid}, token=child_token), "NOT_FOUND")
    refused(api(LOGOUT, {"s": sibling}, token=child_token), "NOT_FOUND")
    assert alive(api, token, sid)
    assert alive(api, sibling_token, sibling)
    assert alive(api, child_token, cid)


def test_child_may_not_log_out_all(api: Api) -> None:
    token, sid = sso(api, "alice")
    child_token, cid = api.child(token)
    refused(api(LOGOUT_ALL, {"c": None}, token=child_token), "FORBIDDEN")
    refused(api(LOGOUT_ALL, {"c": "alice"}, token=child_token), "FORBIDDEN")
    assert alive(api, token, sid)
    assert alive(api, child_token, cid)


# admin -----------------------------------------------------------------------------------


def test_admin_reads_any_customer_and_session(api: Api, clock: ManualClock) -> None:
    token_a, sid_a = sso(api, "alice")
    clock.advance(timedelta(minutes=1))
    token_b, sid_b = sso(api, "bob")
    _, child_b = api.child(token_b)
    a_node = node_id(api, token_a)

    alice = api.admin(CUSTOMER, {"c": "alice", "s": sid_a}).ok()["customer"]
    assert alice == {
        "customerId": "alice",
        "lastLoginTime": at(clock, 1),
        "sessions": {"edges": [{"node": {"sessionId": sid_a}}]},
        "session": {"sessionId": sid_a},
    }
    bob = api.admin(CUSTOMER, {"c": "bob", "s": sid_b}).ok()["customer"]
    assert bob["lastLoginTime"] == at(clock)
    assert ids(bob["sessions"]) == [sid_b]
    assert api.admin(SESSION, {"s": sid_a}).ok() == {"session": {"sessionId": sid_a}}
    assert api.admin(SESSION, {"s": child_b}).ok() == {"session": {"sessionId": child_b}}
    assert api.admin(NODE, {"id": a_node}).ok() == {"node": {"id": a_node, "sessionId": sid_a}}
    assert api.admin(BY_CHILD, {"c": child_b}).ok() == {
        "sessionByChildSessionId": {"sessionId": sid_b}
    }
    assert api.admin(VIEWER).ok() == {"viewer": None}  # the admin is no session
    assert api.admin(CUSTOMER_ID_ONLY, {"c": "nobody"}).ok() == {"customer": None}


def test_admin_logs_in_without_a_password(api: Api, clock: ManualClock) -> None:
    api.register("alice")
    # An existing customer (SSO).
    data = api.admin(LOGIN_NO_PASSWORD, {"c": "alice"}).ok()["login"]
    r = api("{ viewer { sessionId customer { customerId } } }", token=data["accessToken"]).ok()
    assert r == {
        "viewer": {"sessionId": data["session"]["sessionId"], "customer": {"customerId": "alice"}}
    }
    # A customer never registered.
    data = api.admin(LOGIN_NO_PASSWORD, {"c": "carol"}).ok()["login"]
    sid = data["session"]["sessionId"]
    r = api("{ viewer { sessionId customer { customerId } } }", token=data["accessToken"]).ok()
    assert r == {"viewer": {"sessionId": sid, "customer": {"customerId": "carol"}}}
    carol = api.admin(CUSTOMER, {"c": "carol", "s": sid}).ok()["customer"]
    assert carol == {
        "customerId": "carol",
        "lastLoginTime": at(clock),
        "sessions": {"edges": [{"node": {"sessionId": sid}}]},
        "session": {"sessionId": sid},
    }


def test_admin_ends_anyones_sessions(api: Api) -> None:
    token_a, sid_a = sso(api, "alice")
    child_token, child_a = api.child(token_a)
    token_a2, sid_a2 = sso(api, "alice")
    token_b, sid_b = sso(api, "bob")
    token_b2, sid_b2 = sso(api, "bob")

    r = api.admin(LOGOUT, {"s": sid_a}).ok()
    assert r == {"logout": {"endedSessionIds": [sid_a, child_a]}}
    assert not alive(api, token_a, sid_a)
    assert not alive(api, child_token, child_a)
    assert alive(api, token_a2, sid_a2)

    ended = api.admin(LOGOUT_ALL, {"c": "bob"}).ok()["logoutAll"]["endedSessionIds"]
    assert sorted(ended) == sorted([sid_b, sid_b2])
    assert not alive(api, token_b, sid_b)
    assert not alive(api, token_b2, sid_b2)
    assert alive(api, token_a2, sid_a2)


def test_admin_creates_child_sessions_for_anyone(api: Api) -> None:
    token, sid = sso(api, "alice")
    data = api.admin(CHILD, {"s": sid}).ok()["createChildSession"]
    assert data["session"]["isChild"] is True
    assert data["session"]["parent"] == {"sessionId": sid}
    r = api("{ viewer { sessionId parent { sessionId } } }", token=data["accessToken"]).ok()
    assert r == {
        "viewer": {"sessionId": data["session"]["sessionId"], "parent": {"sessionId": sid}}
    }
    r = api(SESSION_WITH_CHILDREN, {"s": sid}, token=token).ok()
    assert ids(r["session"]["childSessions"]) == [data["session"]["sessionId"]]


def test_admin_must_name_the_session_or_customer(api: Api) -> None:
    refused(api.admin(LOGOUT, {"s": None}), "BAD_USER_INPUT")
    refused(api.admin(LOGOUT_ALL, {"c": None}), "BAD_USER_INPUT")
    refused(api.admin(CHILD, {"s": None}), "BAD_USER_INPUT")


# what a caller must not reach ------------------------------------------------------------


def test_a_session_cannot_reach_another_customers_sessions(api: Api) -> None:
    token_a, sid_a = sso(api, "alice")
    child_token_a, child_a = api.child(token_a)
    token_b, sid_b = sso(api, "bob")
    child_token_b, child_b = api.child(token_b)
    b_node = node_id(api, token_b)
    b_child_node = node_id(api, child_token_b)
    bob_node = customer_node_id(api, token_b)

    for token in (token_a, child_token_a):
        assert api(SESSION, {"s": sid_b}, token=token).ok() == {"session": None}
        assert api(SESSION, {"s": child_b}, token=token).ok() == {"session": None}
        assert api(CUSTOMER_ID_ONLY, {"c": "bob"}, token=token).ok() == {"customer": None}
        assert api(NODE, {"id": b_node}, token=token).ok() == {"node": None}
        assert api(NODE, {"id": b_child_node}, token=token).ok() == {"node": None}
        assert api(NODE, {"id": bob_node}, token=token).ok() == {"node": None}
        assert api(BY_CHILD, {"c": child_b}, token=token).ok() == {"sessionByChildSessionId": None}
        refused(api(LOGOUT, {"s": sid_b}, token=token), "NOT_FOUND")
        refused(api(LOGOUT, {"s": child_b}, token=token), "NOT_FOUND")
    # Its own customer's view does not reach into bob's partition.
    r = api(CUSTOMER, {"c": "alice", "s": sid_b}, token=token_a).ok()["customer"]
    assert r["session"] is None
    assert ids(r["sessions"]) == [sid_a]
    refused(api(LOGOUT_ALL, {"c": "bob"}, token=token_a), "FORBIDDEN")
    refused(api(CHILD, {"s": sid_b}, token=token_a), "NOT_FOUND")

    assert alive(api, token_b, sid_b)
    assert alive(api, child_token_b, child_b)
    assert alive(api, token_a, sid_a)
    assert alive(api, child_token_a, child_a)
    r = api(SESSION_WITH_CHILDREN, {"s": sid_b}, token=token_b).ok()
    assert ids(r["session"]["childSessions"]) == [child_b]


def test_a_cursor_from_another_customer_is_refused(api: Api) -> None:
    token_a, _ = sso(api, "alice")
    sso(api, "bob")
    sso(api, "bob")
    page = api.admin(
        '{ customer(customerId: "bob") { sessions(first: 1) { pageInfo { hasNextPage endCursor } } } }'
    ).ok()["customer"]["sessions"]["pageInfo"]
    assert page["hasNextPage"] is True
    r = api(
        "query($a: String) { viewer { customer { sessions(after: $a) { edges { node { sessionId } } } } } }",
        {"a": page["endCursor"]},
        token=token_a,
    )
    assert r.codes == ["BAD_USER_INPUT"]


def test_a_logged_out_token_is_unauthenticated(api: Api) -> None:
    token, sid = sso(api, "alice")
    api(LOGOUT, {"s": None}, token=token).ok()
    refused(api(VIEWER, token=token))
    refused(api(SESSION, {"s": sid}, token=token))
    refused(api(LOGOUT, {"s": None}, token=token))


def test_an_idle_token_expires_after_30_minutes(api: Api, clock: ManualClock) -> None:
    idle_token, idle_sid = sso(api, "alice")
    used_token, used_sid = sso(api, "alice")

    clock.advance(timedelta(minutes=29))
    assert alive(api, used_token, used_sid)  # use slides the idle deadline
    clock.advance(timedelta(minutes=2))  # 31 minutes since login, 2 since last use
    refused(api(VIEWER, token=idle_token))
    assert alive(api, used_token, used_sid)
    clock.advance(timedelta(minutes=31))
    refused(api(VIEWER, token=used_token))
    assert api.admin(SESSION, {"s": idle_sid}).ok() == {"session": None}
    assert api.admin(SESSION, {"s": used_sid}).ok() == {"session": None}


def test_a_token_in_use_dies_after_its_12_hour_lifetime(api: Api, clock: ManualClock) -> None:
    token, sid = sso(api, "alice")
    for _ in range(35):  # used every 20 minutes, up to 11 h 40 min
        clock.advance(timedelta(minutes=20))
        assert alive(api, token, sid)
    clock.advance(timedelta(minutes=20))  # 12 h after login
    refused(api(VIEWER, token=token))


def test_a_forged_token_is_unauthenticated(api: Api) -> None:
    token_a, sid_a = sso(api, "alice")
    token_b, sid_b = sso(api, "alice")
    key_a, secret_a = token_a.split(".")
    key_b, secret_b = token_b.split(".")
    flipped = secret_a[:-1] + ("A" if secret_a[-1] != "A" else "B")

    forged = {
        "secret altered": f"{key_a}.{flipped}",
        "secret truncated": token_a[:-1],
        "secret cut in half": token_a[: len(key_a) + 1 + len(secret_a) // 2],
        "key part only": key_a,
        "secret only": secret_a,
        "A's key, B's secret": f"{key_a}.{secret_b}",
        "B's key, A's secret": f"{key_b}.{secret_a}",
        "admin token with a suffix": ADMIN_TOKEN + "0",
        "garbage": "x.y",
    }
    for name, token in forged.items():
        r = api(VIEWER, token=token)
        assert r.codes == ["UNAUTHENTICATED"], name
        assert r.data == {"viewer": None}, name
    assert alive(api, token_a, sid_a)
    assert alive(api, token_b, sid_b)


def test_wrong_password_and_unknown_customer_look_the_same(api: Api) -> None:
    api.register("alice")
    wrong = api(LOGIN, {"c": "alice", "p": "not the password"})
    unknown = api(LOGIN, {"c": "nobody", "p": PASSWORD})
    refused(wrong)
    refused(unknown)
    assert wrong.errors[0]["message"] == unknown.errors[0]["message"]
    assert wrong.status == unknown.status


def test_a_non_bearer_authorization_is_unauthenticated(api: Api) -> None:
    for header in ["Basic xyz", "Bearer", "Token abc", f"Basic {ADMIN_TOKEN}"]:
        r = api(VIEWER, headers={"Authorization": header})
        assert r.codes == ["UNAUTHENTICATED"], header
        assert r.data == {"viewer": None}, header


# a child never outlives its parent ---------------------------------------------------------


def test_a_child_dies_with_its_logged_out_parent(api: Api) -> None:
    token, sid = sso(api, "alice")
    child_token, cid = api.child(token)
    assert api(LOGOUT, {"s": None}, token=token).ok() == {"logout": {"endedSessionIds": [sid, cid]}}
    refused(api(VIEWER, token=child_token))
    assert api.admin(SESSION, {"s": cid}).ok() == {"session": None}


def test_a_child_in_use_dies_when_its_parent_idles_out(api: Api, clock: ManualClock) -> None:
    token, _ = sso(api, "alice")  # the parent is never used again: idle deadline T0+30
    child_token, cid = api.child(token)
    for step in (5, 10, 10):  # the child is used at T0+5, +15, +25
        clock.advance(timedelta(minutes=step))
        assert alive(api, child_token, cid)
    clock.advance(timedelta(minutes=10))  # T0+35: the parent is past its deadline
    refused(api(VIEWER, token=child_token))
    refused(api(VIEWER, token=token))


def test_a_child_of_an_idled_out_parent_reads_as_absent(api: Api, clock: ManualClock) -> None:
    token, sid = sso(api, "alice")  # the parent is never used again: idle deadline T0+30
    child_token, cid = api.child(token)
    child_node = node_id(api, child_token)
    for step in (5, 10, 10):  # the child is used at T0+5, +15, +25
        clock.advance(timedelta(minutes=step))
        assert alive(api, child_token, cid)
    clock.advance(timedelta(minutes=10))  # T0+35: the parent is past its deadline
    other_token, _ = sso(api, "alice")  # may read every session of alice
    assert api.admin(SESSION, {"s": sid}).ok() == {"session": None}
    assert api(SESSION, {"s": cid}, token=other_token).ok() == {"session": None}
    assert api.admin(SESSION, {"s": cid}).ok() == {"session": None}
    assert api.admin(NODE, {"id": child_node}).ok() == {"node": None}


def test_a_child_in_use_dies_with_its_parents_12_hour_lifetime(
    api: Api, clock: ManualClock
) -> None:
    token, sid = sso(api, "alice")
    for _ in range(18):  # the parent is used every 20 minutes, up to T0+6h
        clock.advance(timedelta(minutes=20))
        assert alive(api, token, sid)
    child_token, cid = api.child(token)  # created 6 h into the parent's 12 h
    for _ in range(17):  # both used every 20 minutes, up to T0+11h40
        clock.advance(timedelta(minutes=20))
        assert alive(api, token, sid)
        assert alive(api, child_token, cid)
    clock.advance(timedelta(minutes=20))  # T0+12h
    refused(api(VIEWER, token=child_token))
    refused(api(VIEWER, token=token))
