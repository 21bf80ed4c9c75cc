"""changePassword(currentPassword, newPassword): a parent session changes its customer's
password; every other session of the customer (and their children) ends at once."""

from __future__ import annotations

import pytest

from dynamo.customers import get_customer
from resolvers.mutations import WRONG_CREDENTIALS
from tests.security.helpers import (
    LOGIN,
    PASSWORD,
    assert_refused,
    assert_token_refused,
    assert_token_works,
)

NEW_PASSWORD = "a brand new passphrase"
CHANGE = (
    "mutation($c: String!, $n: String!) "
    "{ changePassword(currentPassword: $c, newPassword: $n) { endedSessionIds } }"
)


@pytest.fixture
def sessions(api, alice):
    """Alice logged in three times (a, b, c), a child of a and of b, and bob logged in."""
    token_a, id_a = alice
    token_b, id_b = api.login("alice", PASSWORD)
    token_c, id_c = api.login("alice", PASSWORD)
    child_a = api.child(token_a, "shop")
    child_b = api.child(token_b, "forum")
    api.register("bob", "bobs own password")
    bob = api.login("bob", "bobs own password")
    return {
        "a": (token_a, id_a),
        "b": (token_b, id_b),
        "c": (token_c, id_c),
        "child_a": child_a,
        "child_b": child_b,
        "bob": bob,
    }


def _all_alive(api, sessions) -> None:
    for token, session_id in sessions.values():
        assert_token_works(api, token, session_id)


def test_change_password_ends_every_other_session_and_keeps_the_callers(api, sessions, store):
    token_a, id_a = sessions["a"]
    hash_before = get_customer(store, "alice").password_hash
    result = api(CHANGE, {"c": PASSWORD, "n": NEW_PASSWORD}, token=token_a)
    ended = result.ok()["changePassword"]["endedSessionIds"]
    others = ("b", "c", "child_b", "child_a")
    # The parents are deleted before the answer; the children ended with the generation bump
    # (their items go in the background).
    assert sorted(ended) == sorted(sessions[name][1] for name in ("b", "c"))
    # The calling session lives on; every other session ends, its own children too (they
    # were made under the old password and may be held by anyone it gave them to).
    assert_token_works(api, token_a, id_a)
    for name in others:
        assert_token_refused(api, sessions[name][0])
    # Another customer is untouched.
    assert_token_works(api, *sessions["bob"])
    # The old password no longer logs in; the new one does.
    assert_refused(api(LOGIN, {"c": "alice", "p": PASSWORD}), "UNAUTHENTICATED", WRONG_CREDENTIALS)
    api.login("alice", NEW_PASSWORD)
    assert get_customer(store, "alice").password_hash != hash_before


def test_a_child_token_may_not_change_the_password(api, sessions, store):
    hash_before = get_customer(store, "alice").password_hash
    result = api(CHANGE, {"c": PASSWORD, "n": NEW_PASSWORD}, token=sessions["child_a"][0])
    assert_refused(result, "FORBIDDEN", "a child session cannot change the password")
    assert get_customer(store, "alice").password_hash == hash_before
    _all_alive(api, sessions)
    api.login("alice", PASSWORD)


def test_a_wrong_current_password_changes_nothing(api, sessions, store):
    hash_before = get_customer(store, "alice").password_hash
    result = api(CHANGE, {"c": "not the password", "n": NEW_PASSWORD}, token=sessions["a"][0])
    assert_refused(result, "UNAUTHENTICATED", WRONG_CREDENTIALS)
    assert get_customer(store, "alice").password_hash == hash_before
    _all_alive(api, sessions)
    assert_refused(
        api(LOGIN, {"c": "alice", "p": NEW_PASSWORD}), "UNAUTHENTICATED", WRONG_CREDENTIALS
    )
    api.login("alice", PASSWORD)


def test_a_new_password_outside_the_rules_changes_nothing(api, sessions, store):
    hash_before = get_customer(store, "alice").password_hash
    for new_password in ("short", "p" * 1025):
        result = api(CHANGE, {"c": PASSWORD, "n": new_password}, token=sessions["a"][0])
        assert_refused(result, "BAD_USER_INPUT", "password must be 8 to 1024 characters long")
    assert get_customer(store, "alice").password_hash == hash_before
    _all_alive(api, sessions)


def test_change_password_needs_a_session(api, sessions, store):
    hash_before = get_customer(store, "alice").password_hash
    anonymous = api(CHANGE, {"c": PASSWORD, "n": NEW_PASSWORD})
    assert_refused(
        anonymous,
        "UNAUTHENTICATED",
        "log in first: changePassword is for a customer's own session",
    )
    assert get_customer(store, "alice").password_hash == hash_before
    _all_alive(api, sessions)


def test_the_current_password_guesses_count_towards_the_lock(api, sessions, store):
    token_a, _ = sessions["a"]
    for attempt in range(5):
        result = api(CHANGE, {"c": f"guess {attempt}", "n": NEW_PASSWORD}, token=token_a)
        assert_refused(result, "UNAUTHENTICATED", WRONG_CREDENTIALS)
    # Locked now: the right current password is refused too, and nothing changed.
    result = api(CHANGE, {"c": PASSWORD, "n": NEW_PASSWORD}, token=token_a)
    assert_refused(result, "UNAUTHENTICATED", WRONG_CREDENTIALS)
    _all_alive(api, sessions)
