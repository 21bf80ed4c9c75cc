"""Forged, truncated, swapped and dead tokens: each answered UNAUTHENTICATED, and a token's
session is found with one read at most (one GetItem for a parent, one BatchGetItem for a child)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dynamo.store import to_attributes
from tests.security.helpers import (
    VIEWER,
    assert_refused,
    assert_token_refused,
    assert_token_works,
    b64,
    forge_token,
    key_part,
    moto_only,
    secret_part,
)
from tests.support.api import ADMIN_TOKEN


@pytest.fixture
def bob(api):
    api.register("bob", "bobs own password")
    return api.login("bob", "bobs own password")


@pytest.fixture
def alice_child(api, alice):
    return api.child(alice[0], "shop")


def test_a_forged_token_with_a_made_up_session_is_refused_after_one_read(api, alice, calls):
    forged = forge_token(["p", "01a21490-6265-74bd-b243-2efe8cbf9c26", "alice"])
    calls.reset()
    assert_refused(
        api(VIEWER, token=forged),
        "UNAUTHENTICATED",
        "the access token is invalid, ended or expired: log in again",
        data={"viewer": None},
    )
    assert calls.counts == {"BatchGetItem": 1}
    assert_token_refused(api, forged)


def test_a_real_session_key_with_a_guessed_secret_is_refused(api, alice, calls):
    token, session_id = alice
    guessed = forge_token(["p", session_id, "alice"])
    assert key_part(guessed) == key_part(token)
    calls.reset()
    assert_token_refused(api, guessed)
    # One BatchGetItem per request, and no write: a wrong secret does not even slide the deadline.
    assert calls.counts == {"BatchGetItem": 2}
    assert_token_works(api, token, session_id)


@moto_only
@pytest.mark.parametrize(
    "token",
    [
        "x",
        "a.b",
        "a.b.c",
        "." * 50,
        ADMIN_TOKEN[:-1],
        ADMIN_TOKEN + "x",
        "A" * 5000,
        b64(b"not json") + "." + "s" * 43,
        b64(b'{"p": "x"}') + "." + "s" * 43,
        b64(b'["p", 1, 2]') + "." + "s" * 43,
        b64(b'["x", "a", "b"]') + "." + "s" * 43,
        forge_token(["p", "a#b", "alice"]),
        forge_token(["p", "a", "c#alice"]),
        forge_token(["p", "a\u0000", "alice"]),
        forge_token(["p", "a" * 129, "alice"]),
        forge_token(["c", "a", "b"]),
        forge_token(["p", "a", "alice"], secret="s" * 42),
    ],
    ids=lambda t: t[:24],
)
def test_a_malformed_token_is_refused_without_a_read(api, alice, calls, token):
    calls.reset()
    assert_token_refused(api, token)
    assert calls.total == 0


@moto_only
@pytest.mark.parametrize("authorization", ["Basic YWxpY2U6cHc=", "Bearer", "Bearer   ", "Token x"])
def test_an_authorization_header_that_is_not_bearer_is_refused(api, alice, calls, authorization):
    calls.reset()
    assert_refused(
        api(VIEWER, headers={"Authorization": authorization}),
        "UNAUTHENTICATED",
        "the Authorization header must be 'Bearer <token>'",
        data={"viewer": None},
    )
    assert calls.total == 0


def test_a_truncated_token_is_refused(api, alice, calls):
    token, session_id = alice
    key, secret = key_part(token), secret_part(token)
    calls.reset()
    for truncated in (token[:-1], token[:-20], f"{key}.", key, token[1:], f"{key[:-2]}.{secret}"):
        assert_token_refused(api, truncated)
    # Each is malformed (a secret under 43 characters, or a key part that is not JSON): no read.
    assert calls.total == 0
    assert_token_works(api, token, session_id)


def test_a_token_with_a_character_added_is_refused(api, alice, calls):
    token, session_id = alice
    calls.reset()
    assert_token_refused(api, token + "A")
    assert calls.counts == {"BatchGetItem": 2}
    assert_token_works(api, token, session_id)


def test_a_token_whose_key_part_names_another_session_is_refused(
    api, alice, alice_child, bob, calls
):
    alice_token, alice_id = alice
    child_token, child_id = alice_child
    bob_token, bob_id = bob
    swapped = [
        # Bob's session with Alice's secret, and Alice's with Bob's.
        f"{key_part(bob_token)}.{secret_part(alice_token)}",
        f"{key_part(alice_token)}.{secret_part(bob_token)}",
        # Alice's parent session with her child's secret, and the child with the parent's.
        f"{key_part(alice_token)}.{secret_part(child_token)}",
        f"{key_part(child_token)}.{secret_part(alice_token)}",
        # Alice's session id, her own secret, claiming Bob as the customer.
        forge_token(["p", alice_id, "bob"], secret_part(alice_token)),
        # Alice's child with its own secret, claiming Bob's session or Bob as its parents.
        forge_token(["c", bob_id, child_id, "bob"], secret_part(child_token)),
        forge_token(["c", alice_id, child_id, "bob"], secret_part(child_token)),
        forge_token(["c", bob_id, child_id, "alice"], secret_part(child_token)),
    ]
    calls.reset()
    for token in swapped:
        assert_token_refused(api, token)
    # One read per request (one BatchGetItem of session, parent and customer), no write.
    assert calls.counts == {"BatchGetItem": 16}
    assert_token_works(api, alice_token, alice_id)
    assert_token_works(api, child_token, child_id)
    assert_token_works(api, bob_token, bob_id)


def test_tokens_after_logout_are_refused(api, alice, alice_child):
    token, _ = alice
    child_token, _ = alice_child
    api("mutation { logout { endedSessionIds } }", token=token).ok()
    assert_token_refused(api, token)
    assert_token_refused(api, child_token)


def test_a_child_token_after_its_own_logout_is_refused_and_the_parent_lives(
    api, alice, alice_child
):
    token, session_id = alice
    child_token, child_id = alice_child
    ended = api("mutation { logout { endedSessionIds } }", token=child_token).ok()
    assert ended == {"logout": {"endedSessionIds": [child_id]}}
    assert_token_refused(api, child_token)
    assert_token_works(api, token, session_id)


def test_tokens_after_idle_expiry_are_refused(api, alice, alice_child, clock):
    token, _ = alice
    child_token, _ = alice_child
    clock.advance(timedelta(minutes=30, seconds=1))
    assert_token_refused(api, token)
    assert_token_refused(api, child_token)


@moto_only
def test_a_token_in_use_is_refused_after_the_absolute_lifetime(api, alice, clock):
    token, session_id = alice
    # Used every 25 minutes, the session never idles out, but it ends at 12 hours.
    for _ in range(28):
        clock.advance(timedelta(minutes=25))
        assert_token_works(api, token, session_id)
    clock.advance(timedelta(hours=12, seconds=1) - timedelta(minutes=25 * 28))
    assert_token_refused(api, token)


def test_a_child_token_cannot_call_parent_only_mutations(api, alice, alice_child, calls):
    token, session_id = alice
    child_token, child_id = alice_child
    sibling_token, sibling_id = api.child(token, "forum")
    refused = [
        (
            'mutation { createChildSession(client: "x") { accessToken } }',
            {},
            "FORBIDDEN",
            "a child session cannot create child sessions",
        ),
        (
            'mutation($s: String) { createChildSession(client: "x", sessionId: $s) '
            "{ accessToken } }",
            {"s": session_id},
            "FORBIDDEN",
            "a child session cannot create child sessions",
        ),
        (
            "mutation { logoutAll { endedSessionIds } }",
            {},
            "FORBIDDEN",
            "a child session cannot end its customer's sessions",
        ),
        (
            'mutation { logoutAll(customerId: "alice") { endedSessionIds } }',
            {},
            "FORBIDDEN",
            "a child session cannot end its customer's sessions",
        ),
        (
            'mutation { changePassword(currentPassword: "correct horse battery", '
            'newPassword: "a brand new passphrase") { endedSessionIds } }',
            {},
            "FORBIDDEN",
            "a child session cannot change the password",
        ),
        # Its parent and its siblings look absent to it.
        (
            "mutation($s: String) { logout(sessionId: $s) { endedSessionIds } }",
            {"s": session_id},
            "NOT_FOUND",
            f"no session {session_id!r} that this caller may end",
        ),
        (
            "mutation($s: String) { logout(sessionId: $s) { endedSessionIds } }",
            {"s": sibling_id},
            "NOT_FOUND",
            f"no session {sibling_id!r} that this caller may end",
        ),
        (
            'mutation { login(customerId: "alice") { accessToken } }',
            {},
            "UNAUTHENTICATED",
            "a password is required (only the admin may log in without)",
        ),
    ]
    calls.reset()
    for query, variables, code, message in refused:
        assert_refused(api(query, variables, token=child_token), code, message)
    writes = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")
    assert {op: calls.of(op) for op in writes} == dict.fromkeys(writes, 0)
    assert_token_works(api, token, session_id)
    assert_token_works(api, child_token, child_id)
    assert_token_works(api, sibling_token, sibling_id)


@moto_only
def test_a_child_token_of_a_foreign_parent_with_long_ids_works(api, store):
    long_id = "中" * 128
    store.client.put_item(
        TableName=store.table_name,
        Item=to_attributes(
            {
                "PK": f"suuid#{long_id}",
                "SK": f"c#{long_id}",
                "session_state": "active",
                "customer_id": long_id,
            }
        ),
    )
    data = api.admin(
        'mutation($s: String) { createChildSession(client: "shop", sessionId: $s) '
        "{ accessToken session { sessionId } } }",
        {"s": long_id},
    ).ok()["createChildSession"]
    assert_token_works(api, data["accessToken"], data["session"]["sessionId"])
