"""The whole life of a customer, through HTTP, as a frontend and an SSO platform drive it."""

from __future__ import annotations

from datetime import datetime, timedelta

SESSION_FIELDS = """
  id sessionId state isChild client lastLoginTime lastAccessTime createdAt expiresAt
  ipAddress userAgent customer { id customerId }
"""


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_register_login_children_logout(api, clock):
    api.register("alice")
    token, parent_id = api.login("alice")
    login_time = clock.now()

    # Two child sessions for two apps.
    child_a_token, child_a = api.child(token, "shop")
    clock.advance(timedelta(seconds=5))
    child_b_token, child_b = api.child(token, "forum")

    # The parent sees both children, each of which names the parent.
    data = api(
        f"{{ viewer {{ {SESSION_FIELDS} childSessions {{ edges {{ cursor node {{ {SESSION_FIELDS} parent {{ sessionId }} }} }} pageInfo {{ hasNextPage endCursor }} }} }} }}",
        token=token,
    ).ok()
    viewer = data["viewer"]
    assert viewer["sessionId"] == parent_id
    assert viewer["state"] == "ACTIVE"
    assert viewer["isChild"] is False
    assert viewer["client"] is None
    assert viewer["customer"]["customerId"] == "alice"
    assert viewer["ipAddress"] == "203.0.113.7"
    assert viewer["userAgent"] == "testclient"
    assert _time(viewer["lastLoginTime"]) == login_time.replace(microsecond=0)
    assert _time(viewer["expiresAt"]) > _time(viewer["createdAt"])
    children = viewer["childSessions"]["edges"]
    assert {e["node"]["sessionId"] for e in children} == {child_a, child_b}
    assert {e["node"]["client"] for e in children} == {"shop", "forum"}
    assert all(
        e["node"]["isChild"] and e["node"]["parent"]["sessionId"] == parent_id for e in children
    )
    assert all(e["node"]["customer"]["customerId"] == "alice" for e in children)
    assert all(e["node"]["lastLoginTime"] is None for e in children)
    assert viewer["childSessions"]["pageInfo"] == {
        "hasNextPage": False,
        "endCursor": children[-1]["cursor"],
    }

    # From the child's side: itself, its parent, and the parent by the child's id.
    data = api(
        "query($c: String!) { viewer { sessionId client parent { sessionId } } sessionByChildSessionId(childSessionId: $c) { sessionId } }",
        {"c": child_a},
        token=child_a_token,
    ).ok()
    assert data["viewer"] == {
        "sessionId": child_a,
        "client": "shop",
        "parent": {"sessionId": parent_id},
    }
    assert data["sessionByChildSessionId"] == {"sessionId": parent_id}

    # lastLoginTime, before and after logout.
    query = '{ customer(customerId: "alice") { lastLoginTime sessions { edges { node { sessionId } } } } }'
    before = api.admin(query).ok()["customer"]
    assert _time(before["lastLoginTime"]) == login_time.replace(microsecond=0)
    assert [e["node"]["sessionId"] for e in before["sessions"]["edges"]] == [parent_id]

    ended = api("mutation { logout { endedSessionIds } }", token=token).ok()
    assert set(ended["logout"]["endedSessionIds"]) == {parent_id, child_a, child_b}
    assert ended["logout"]["endedSessionIds"][0] == parent_id

    after = api.admin(query).ok()["customer"]
    assert after["sessions"]["edges"] == []
    assert _time(after["lastLoginTime"]) == login_time.replace(microsecond=0)

    # Every token of the cascade is refused.
    for dead in (token, child_a_token, child_b_token):
        assert api("{ viewer { sessionId } }", token=dead).codes == ["UNAUTHENTICATED"]
    assert api.admin(f'{{ session(sessionId: "{child_b}") {{ sessionId }} }}').ok() == {
        "session": None
    }


def test_last_login_time_is_the_latest_login(api, clock):
    api.register("carol")
    api.login("carol")
    clock.advance(timedelta(hours=1))
    second_token, _ = api.login("carol")
    expected = clock.now().replace(microsecond=0)
    clock.advance(timedelta(minutes=2))
    api("mutation { logoutAll { endedSessionIds } }", token=second_token).ok()
    data = api.admin(
        '{ customer(customerId: "carol") { lastLoginTime sessions { edges { node { sessionId } } } } }'
    ).ok()
    assert _time(data["customer"]["lastLoginTime"]) == expected
    assert data["customer"]["sessions"]["edges"] == []


def test_logout_all_ends_every_session_and_child(api):
    api.register("dave")
    first, first_id = api.login("dave")
    second, second_id = api.login("dave")
    child, _ = api.child(first)
    ended = api("mutation { logoutAll { endedSessionIds } }", token=second).ok()
    assert set(ended["logoutAll"]["endedSessionIds"]) == {first_id, second_id}
    assert api("{ viewer { sessionId } }", token=first).codes == ["UNAUTHENTICATED"]
    assert api("{ viewer { sessionId } }", token=child).codes == ["UNAUTHENTICATED"]


def test_customer_sessions_paginate_newest_first(api, clock):
    api.register("erin")
    ids = []
    for _ in range(5):
        ids.append(api.login("erin")[1])
        clock.advance(timedelta(seconds=1))
    query = 'query($after: String) { customer(customerId: "erin") { sessions(first: 2, after: $after) { edges { cursor node { sessionId } } pageInfo { hasNextPage endCursor } } } }'
    seen, after = [], None
    for expected_next in (True, True, False):
        page = api.admin(query, {"after": after}).ok()["customer"]["sessions"]
        seen += [e["node"]["sessionId"] for e in page["edges"]]
        assert page["pageInfo"]["hasNextPage"] is expected_next
        after = page["pageInfo"]["endCursor"]
    assert seen == list(reversed(ids))


def test_customer_session_by_id_and_node(api):
    api.register("fay")
    token, sid = api.login("fay")
    _, child_id = api.child(token)
    data = api(
        'query($s: String!) { customer(customerId: "fay") { id session(sessionId: $s) { id sessionId } } }',
        {"s": sid},
        token=token,
    ).ok()
    session_node_id = data["customer"]["session"]["id"]
    customer_node_id = data["customer"]["id"]
    nodes = api(
        "query($a: ID!, $b: ID!) { a: node(id: $a) { id ... on Session { sessionId } } b: node(id: $b) { id ... on Customer { customerId } } }",
        {"a": session_node_id, "b": customer_node_id},
        token=token,
    ).ok()
    assert nodes["a"] == {"id": session_node_id, "sessionId": sid}
    assert nodes["b"] == {"id": customer_node_id, "customerId": "fay"}
    child = api(
        f'{{ session(sessionId: "{child_id}") {{ id isChild parent {{ sessionId }} }} }}',
        token=token,
    ).ok()
    again = api(
        "query($id: ID!) { node(id: $id) { ... on Session { sessionId isChild } } }",
        {"id": child["session"]["id"]},
        token=token,
    ).ok()
    assert again["node"] == {"sessionId": child_id, "isChild": True}


def test_register_twice_is_a_conflict_and_bad_ids_are_bad_input(api):
    api.register("gus")
    again = api(
        'mutation { registerCustomer(customerId: "gus", password: "another password") { customerId } }'
    )
    assert again.codes == ["CONFLICT"]
    bad = api(
        'mutation { registerCustomer(customerId: "a#b", password: "long enough pw") { customerId } }'
    )
    assert bad.codes == ["BAD_USER_INPUT"]
    assert "#" in bad.errors[0]["message"]
    short = api(
        'mutation { registerCustomer(customerId: "hal", password: "short") { customerId } }'
    )
    assert short.codes == ["BAD_USER_INPUT"]


def test_first_over_100_and_forged_cursor_are_bad_input(api):
    api.register("ivy")
    token, _ = api.login("ivy")
    over = api(
        '{ customer(customerId: "ivy") { sessions(first: 101) { edges { cursor } } } }', token=token
    )
    assert over.codes == ["BAD_USER_INPUT"]
    forged = api(
        '{ customer(customerId: "ivy") { sessions(after: "bm90LWEtY3Vyc29y") { edges { cursor } } } }',
        token=token,
    )
    assert forged.codes == ["BAD_USER_INPUT"]


def test_idle_session_slides_and_expires(api, clock):
    api.register("jay")
    token, _ = api.login("jay")
    for _ in range(4):  # used every 20 minutes: alive after 80 minutes
        clock.advance(timedelta(minutes=20))
        assert api("{ viewer { sessionId } }", token=token).ok()["viewer"] is not None
    clock.advance(timedelta(minutes=31))
    assert api("{ viewer { sessionId } }", token=token).codes == ["UNAUTHENTICATED"]
