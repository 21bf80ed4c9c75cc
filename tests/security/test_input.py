"""Ids with `#`, control characters or 10,000 characters: BAD_USER_INPUT naming the argument,
before any DynamoDB call (a `#` would let an id address another item, `c#alice` say)."""

from __future__ import annotations

import json

import pytest

from tests.security.helpers import PASSWORD, b64, moto_only
from tests.support.api import ADMIN_TOKEN

pytestmark = moto_only

# (query taking $v, the argument's name in the message, `data` of the refused request)
ID_ARGUMENTS = [
    (
        'mutation($v: String!) { registerCustomer(customerId: $v, password: "long enough") '
        "{ customerId } }",
        "customerId",
        None,
    ),
    (
        'mutation($v: String!) { login(customerId: $v, password: "long enough") { accessToken } }',
        "customerId",
        None,
    ),
    ("query($v: String!) { session(sessionId: $v) { sessionId } }", "sessionId", {"session": None}),
    (
        "query($v: String!) { customer(customerId: $v) { customerId } }",
        "customerId",
        {"customer": None},
    ),
    (
        "query($v: String!) { sessionByChildSessionId(childSessionId: $v) { sessionId } }",
        "childSessionId",
        {"sessionByChildSessionId": None},
    ),
    (
        "mutation($v: String) { logoutAll(customerId: $v) { endedSessionIds } }",
        "customerId",
        None,
    ),
    (
        "mutation($v: String) { logout(sessionId: $v) { endedSessionIds } }",
        "sessionId",
        None,
    ),
    (
        'mutation($v: String) { createChildSession(client: "shop", sessionId: $v) '
        "{ accessToken } }",
        "sessionId",
        None,
    ),
]

BAD_IDS = [
    ("a#b", "{what} must not contain '#'"),
    ("c#alice", "{what} must not contain '#'"),
    ("a\x00b", "{what} must not contain control characters (found '\\x00')"),
    ("line\nbreak", "{what} must not contain control characters (found '\\n')"),
    ("next\x85line", "{what} must not contain control characters (found '\\x85')"),
    ("x" * 10_000, "{what} is 10000 characters long; at most 128 are allowed"),
    ("", "{what} must not be empty"),
]


def _post_raw(api, body: bytes, token: str):
    response = api.client.post(
        "/graphql",
        content=body,
        headers={"content-type": "application/json", "authorization": f"Bearer {token}"},
    )
    return response.status_code, response.json()


@pytest.mark.parametrize(("value", "message"), BAD_IDS, ids=lambda v: repr(v)[:20])
def test_a_bad_id_is_refused_naming_the_argument(api, calls, value, message):
    # As the admin: a credential that costs no read, so any call would be the id's.
    calls.reset()
    for query, what, _field_data in ID_ARGUMENTS:
        result = api(query, {"v": value}, token=ADMIN_TOKEN)
        assert result.status == 200
        # Refused before execution (so before any read): no field ran, data is null.
        assert result.data is None, (query, result.body)
        assert len(result.errors) == 1, (query, result.body)
        assert result.errors[0]["message"] == message.format(what=what), (query, result.body)
        assert result.codes == ["BAD_USER_INPUT"], (query, result.body)
    assert calls.total == 0


def test_a_lone_surrogate_in_an_id_is_refused(api, calls):
    # JSON may carry "\ud800"; Python decodes it to a lone surrogate (category Cs).
    body = (
        b'{"query": "mutation($v: String!) { registerCustomer(customerId: $v, '
        b'password: \\"long enough\\") { customerId } }", "variables": {"v": "a\\ud800b"}}'
    )
    calls.reset()
    status, answer = _post_raw(api, body, ADMIN_TOKEN)
    assert status == 200
    assert answer["data"] is None
    assert [(e["message"], e["extensions"]["code"]) for e in answer["errors"]] == [
        ("customerId must not contain control characters (found '\\ud800')", "BAD_USER_INPUT")
    ]
    assert calls.total == 0


@pytest.mark.parametrize(
    ("client", "message"),
    [
        ("x" * 10_000, "client must be 1 to 128 characters long"),
        ("", "client must be 1 to 128 characters long"),
        ("shop\x00", "client must not contain control characters"),
        ("shop\r\nX-Injected: 1", "client must not contain control characters"),
    ],
    ids=["10000", "empty", "nul", "crlf"],
)
def test_a_bad_client_name_is_refused(api, alice, calls, client, message):
    token, session_id = alice
    query = "mutation($c: String!, $s: String) { createChildSession(client: $c, sessionId: $s) { accessToken } }"
    for credential, expected_calls in ((ADMIN_TOKEN, {}), (token, {"BatchGetItem": 1})):
        calls.reset()
        result = api(query, {"c": client, "s": session_id}, token=credential)
        assert result.data is None
        assert [(e["message"], e["extensions"]["code"]) for e in result.errors] == [
            (message, "BAD_USER_INPUT")
        ]
        # Nothing is written; a session token costs only its own lookup.
        assert calls.counts == expected_calls
    assert api("{ viewer { childSessions { edges { cursor } } } }", token=token).ok() == {
        "viewer": {"childSessions": {"edges": []}}
    }


@pytest.mark.parametrize(
    "node_id",
    [
        "x" * 10_000,
        "not base64 !",
        b64(b"Customer:a#b"),
        b64(b"Customer:"),
        b64(b"Customer:a\x00b"),
        b64(b"Session:p#a#c#alice"),
        b64(b"Session:x#a#b"),
        b64(b"Session:p#a"),
        b64(b"Session:c##b"),
        b64(b"Nothing:a"),
        b64(b"Customer:" + b"\xff"),
        b64(("Customer:" + "a" * 129).encode()),
    ],
    ids=lambda v: v[:20],
)
def test_a_forged_node_id_is_refused(api, calls, node_id):
    calls.reset()
    result = api("query($id: ID!) { node(id: $id) { id } }", {"id": node_id}, token=ADMIN_TOKEN)
    assert result.status == 200
    assert result.data == {"node": None}
    assert [(e["message"], e["extensions"]["code"]) for e in result.errors] == [
        ("id is not a node id issued by this server", "BAD_USER_INPUT")
    ]
    assert calls.total == 0


def test_ids_in_variables_and_in_the_document_are_refused_alike(api, calls):
    calls.reset()
    inline = api('{ session(sessionId: "c#alice") { sessionId } }', token=ADMIN_TOKEN)
    variable = api(
        "query($v: String!) { session(sessionId: $v) { sessionId } }",
        {"v": "c#alice"},
        token=ADMIN_TOKEN,
    )
    for result in (inline, variable):
        assert result.data is None  # refused before execution
        assert [(e["message"], e["extensions"]["code"]) for e in result.errors] == [
            ("sessionId must not contain '#'", "BAD_USER_INPUT")
        ]
    assert calls.total == 0
    assert json.dumps(inline.body).count("c#alice") == 0


# Cursors: opaque, bound to the list they were issued for.

CUSTOMER_PAGE = (
    "query($after: String) { viewer { customer { sessions(first: 1, after: $after) "
    "{ edges { cursor node { sessionId } } pageInfo { hasNextPage endCursor } } } } }"
)
CHILD_PAGE = (
    "query($after: String) { viewer { childSessions(first: 1, after: $after) "
    "{ edges { cursor node { sessionId } } pageInfo { hasNextPage endCursor } } } }"
)


def _end_cursor(api, query, token) -> str:
    data = api(query, token=token).ok()["viewer"]
    connection = data["customer"]["sessions"] if "customer" in data else data["childSessions"]
    assert connection["pageInfo"]["hasNextPage"] is True
    return connection["pageInfo"]["endCursor"]


@pytest.fixture
def two_customers(api, alice):
    """alice and bob, each logged in twice, alice's first session with two children."""
    alice_token, _ = alice
    api.login("alice", PASSWORD)
    api.child(alice_token, "shop")
    api.child(alice_token, "forum")
    api.register("bob", "bobs own password")
    bob_token, _ = api.login("bob", "bobs own password")
    api.login("bob", "bobs own password")
    api.child(bob_token, "shop")
    api.child(bob_token, "forum")
    return alice_token, bob_token


def test_a_cursor_reads_on_in_its_own_list(api, two_customers):
    alice_token, _ = two_customers
    for query in (CUSTOMER_PAGE, CHILD_PAGE):
        cursor = _end_cursor(api, query, alice_token)
        data = api(query, {"after": cursor}, token=alice_token).ok()["viewer"]
        connection = data["customer"]["sessions"] if "customer" in data else data["childSessions"]
        assert len(connection["edges"]) == 1
        assert connection["pageInfo"]["hasNextPage"] is False


def test_another_customers_cursor_is_refused_before_any_query(api, two_customers, calls):
    alice_token, bob_token = two_customers
    for query in (CUSTOMER_PAGE, CHILD_PAGE):
        alices = _end_cursor(api, query, alice_token)
        calls.reset()
        result = api(query, {"after": alices}, token=bob_token)
        assert result.data == {"viewer": None}, result.body
        assert [(e["message"], e["extensions"]["code"]) for e in result.errors] == [
            ("the cursor belongs to another list", "BAD_USER_INPUT")
        ]
        assert calls.of("Query") == 0


def test_a_cursor_of_one_kind_of_list_is_refused_in_another(api, two_customers, calls):
    alice_token, _ = two_customers
    sessions_cursor = _end_cursor(api, CUSTOMER_PAGE, alice_token)
    children_cursor = _end_cursor(api, CHILD_PAGE, alice_token)
    calls.reset()
    for query, cursor in ((CHILD_PAGE, sessions_cursor), (CUSTOMER_PAGE, children_cursor)):
        result = api(query, {"after": cursor}, token=alice_token)
        assert [(e["message"], e["extensions"]["code"]) for e in result.errors] == [
            ("the cursor belongs to another list", "BAD_USER_INPUT")
        ]
    assert calls.of("Query") == 0


def test_the_admin_cannot_carry_a_cursor_across_customers(api, two_customers, calls):
    alice_token, _ = two_customers
    alices = _end_cursor(api, CUSTOMER_PAGE, alice_token)
    calls.reset()
    result = api(
        'query($after: String) { customer(customerId: "bob") '
        "{ sessions(after: $after) { edges { node { sessionId } } } } }",
        {"after": alices},
        token=ADMIN_TOKEN,
    )
    assert result.data == {"customer": None}
    assert [(e["message"], e["extensions"]["code"]) for e in result.errors] == [
        ("the cursor belongs to another list", "BAD_USER_INPUT")
    ]
    assert calls.of("Query") == 0


def _cursor(*parts: object) -> str:
    return b64(json.dumps(list(parts)).encode())


@pytest.mark.parametrize(
    ("cursor", "message"),
    [
        ("", "the cursor is empty or too long"),
        ("A" * 3000, "the cursor is empty or too long"),
        ("not a cursor!", "the cursor is not one this server issued"),
        (b64(b"[1, 2"), "the cursor is not one this server issued"),
        (_cursor("k2", "suuid#x", "c#bob"), "the cursor is not one this server issued"),
        (_cursor("k1", "suuid#x"), "the cursor is not one this server issued"),
        (_cursor("k1", "", "c#bob"), "the cursor is not one this server issued"),
        (_cursor("k1", 1, 2), "the cursor is not one this server issued"),
        (b64(b'{"PK": "c#alice", "SK": "c#alice"}'), "the cursor is not one this server issued"),
        (_cursor("k1", "suuid#x", "c#alice"), "the cursor belongs to another list"),
        (_cursor("k1", "c#alice", "c#alice"), "the cursor belongs to another list"),
        (_cursor("k1", "c#bob", "c#bob"), "the cursor belongs to another list"),
        (_cursor("k1", "suuid#x", "child#suuid#y"), "the cursor belongs to another list"),
    ],
    ids=lambda v: v[:24] if isinstance(v, str) else None,
)
def test_a_forged_cursor_is_refused_before_any_query(api, two_customers, calls, cursor, message):
    _, bob_token = two_customers
    calls.reset()
    result = api(CUSTOMER_PAGE, {"after": cursor}, token=bob_token)
    assert result.data == {"viewer": None}
    assert [(e["message"], e["extensions"]["code"]) for e in result.errors] == [
        (message, "BAD_USER_INPUT")
    ]
    assert calls.of("Query") == 0
