"""Logins under concurrency (issue 7, defects 2, 3 and 8), each race forced deterministically:
one request is held at a named point (inside argon2, or at a DynamoDB call) while another
runs start to end, then the first resumes.

- Each password attempt is reserved on the customer item before argon2 runs, so guesses
  in flight count: no more than the threshold is ever evaluated, and a success takes back
  only its own reservation.
- Every login writes the customer item before its session: a registration racing an SSO
  login's first session is a CONFLICT, decided by one conditional PutItem.
- A login whose customer was revoked (or whose password changed) while it ran hands out
  no token.
- argon2's queue is bounded: past it, RATE_LIMITED at once, with Retry-After.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from argon2 import PasswordHasher, extract_parameters

from dynamo.customers import get_customer
from dynamo.keys import customer_key
from dynamo.store import to_attributes
from resolvers.mutations import WRONG_CREDENTIALS
from server.graphql_view import json_error
from tests.security.helpers import LOGIN, PASSWORD, assert_refused, serve
from tests.support.race import Background, paused

RATE_LIMITED = "too many password checks are waiting on this server right now; retry after a moment"
REGISTER = (
    "mutation($c: String!, $p: String!) "
    "{ registerCustomer(customerId: $c, password: $p) { customerId } }"
)
SSO_LOGIN = "mutation($c: String!) { login(customerId: $c) { accessToken session { sessionId } } }"
CHANGE_PASSWORD = (
    "mutation($old: String!, $new: String!) "
    "{ changePassword(currentPassword: $old, newPassword: $new) { endedSessionIds } }"
)
DB_THREADS = 2
"""The app's DynamoDB pool: a held request parks one thread, the competing one needs another."""


def _unparked(backend: str) -> int:
    """The app's DynamoDB threads for a test that holds requests in argon2, not at a DynamoDB
    call: moto is not thread-safe, so one there (no thread is parked in DynamoDB)."""
    return 1 if backend == "moto" else DB_THREADS


def _login(api, customer_id: str, password: str):
    return api(LOGIN, {"c": customer_id, "p": password})


def _failures(store, customer_id: str = "alice") -> tuple[int, bool]:
    customer = get_customer(store, customer_id)
    assert customer is not None
    locked = customer.locked_until is not None and customer.locked_until > store.clock.now()
    return customer.failed_logins, locked


def _is_session_put(params) -> bool:
    return params["Item"]["PK"]["S"].startswith("suuid#")


# Defect 2: guesses sent at once -------------------------------------------------------------


def test_a_guess_in_flight_counts_so_the_right_password_cannot_slip_past_the_lock(
    store, hasher, argon2_pool
):
    argon2_pool(2, 4)
    with serve(store, pool_size=DB_THREADS, execution_timeout_seconds=60) as api:
        api.register("alice", PASSWORD)
        for attempt in range(4):
            assert_refused(
                _login(api, "alice", f"guess {attempt}"), "UNAUTHENTICATED", WRONG_CREDENTIALS
            )
        with hasher.hold("guess 4") as fifth:
            guess = Background(lambda: _login(api, "alice", "guess 4"))
            fifth.wait_reached()  # the fifth guess is being checked by argon2

            before = len(hasher.verified)
            right = _login(api, "alice", PASSWORD)
            assert_refused(right, "UNAUTHENTICATED", WRONG_CREDENTIALS)
            assert hasher.verified[before:] == []  # refused as locked: never evaluated
        assert_refused(guess.result(), "UNAUTHENTICATED", WRONG_CREDENTIALS)
    assert _failures(store) == (5, True)


def test_a_burst_of_guesses_gets_at_most_the_threshold_evaluated(
    store, hasher, argon2_pool, backend
):
    argon2_pool(5, 30)  # room for every guess that gets through to be held in argon2 at once
    with serve(store, pool_size=_unparked(backend), execution_timeout_seconds=60) as api:
        api.register("alice", PASSWORD)
        answered = threading.Semaphore(0)

        def guess():
            result = _login(api, "alice", "wrong guess")
            answered.release()
            return result

        with hasher.hold("wrong guess") as held:
            burst = [Background(guess) for _ in range(24)]
            held.wait_reached(5)
            # While five are held in argon2, the other 19 are answered, and nothing more.
            for _ in range(19):
                assert answered.acquire(timeout=30)
            assert not answered.acquire(blocking=False)
            right = _login(api, "alice", PASSWORD)
        results = [b.result() for b in burst]
    for result in [*results, right]:
        assert_refused(result, "UNAUTHENTICATED", WRONG_CREDENTIALS)
    alice = get_customer(store, "alice")
    assert alice is not None
    assert hasher.verified == [alice.password_hash] * 5
    assert _failures(store) == (5, True)


def test_concurrent_wrong_guesses_are_all_counted(store, hasher, argon2_pool, backend):
    argon2_pool(3, 3)
    with serve(store, pool_size=_unparked(backend), execution_timeout_seconds=60) as api:
        api.register("alice", PASSWORD)
        with hasher.hold("wrong guess") as held:
            guesses = [Background(lambda: _login(api, "alice", "wrong guess")) for _ in range(3)]
            held.wait_reached(3)  # all three reserved and in argon2 together
            assert _failures(store) == (3, False)
        for guess in guesses:
            assert_refused(guess.result(), "UNAUTHENTICATED", WRONG_CREDENTIALS)
    customer = get_customer(store, "alice")
    assert customer is not None
    assert (customer.failed_logins, customer.login_attempts) == (3, 3)


def test_a_success_does_not_erase_failures_that_arrived_while_it_was_checked(
    store, hasher, argon2_pool
):
    argon2_pool(2, 4)
    with serve(store, pool_size=DB_THREADS, execution_timeout_seconds=60) as api:
        api.register("alice", PASSWORD)
        with hasher.hold(PASSWORD) as right:
            owner = Background(lambda: api.login("alice", PASSWORD))
            right.wait_reached()
            for attempt in range(2):  # an attacker's guesses, while the owner's is in argon2
                assert_refused(
                    _login(api, "alice", f"guess {attempt}"), "UNAUTHENTICATED", WRONG_CREDENTIALS
                )
        owner.result()  # the owner is in
    customer = get_customer(store, "alice")
    assert customer is not None
    # The owner's own reservation is taken back; the two failures stand, in their window.
    assert (customer.failed_logins, customer.login_attempts, customer.failed_window) == (2, 3, 1)
    assert customer.locked_until is None


def test_a_success_with_nobody_else_trying_clears_the_failures(store, hasher, argon2_pool):
    argon2_pool(2, 4)
    with serve(store, pool_size=DB_THREADS, execution_timeout_seconds=60) as api:
        api.register("alice", PASSWORD)
        for attempt in range(3):
            _login(api, "alice", f"guess {attempt}")
        api.login("alice", PASSWORD)
    customer = get_customer(store, "alice")
    assert customer is not None
    assert (customer.failed_logins, customer.failed_since, customer.failed_window) == (
        0,
        None,
        None,
    )
    assert customer.login_attempts == 4


# Defect 3: customer first -------------------------------------------------------------------


def test_a_registration_racing_an_sso_first_login_is_a_conflict(store):
    with serve(store, pool_size=DB_THREADS, execution_timeout_seconds=60) as api:
        with paused(store.client, "PutItem", when=_is_session_put) as pause:
            sso = Background(lambda: api.admin(SSO_LOGIN, {"c": "carol"}))
            pause.wait_reached()  # the SSO login is about to write carol's first session
            taken = api(REGISTER, {"c": "carol", "p": "attacker's password"})
            pause.release()
            token = sso.result().ok()["login"]["accessToken"]
        assert_refused(taken, "CONFLICT", "customer 'carol' exists already; log in instead")
        assert api("{ viewer { customer { customerId } } }", token=token).ok() == {
            "viewer": {"customer": {"customerId": "carol"}}
        }
    carol = get_customer(store, "carol")
    assert carol is not None and carol.password_hash is None


def test_a_password_login_reads_its_customer_before_writing_the_session(store, calls):
    with serve(store, pool_size=DB_THREADS, execution_timeout_seconds=60) as api:
        api.register("alice", PASSWORD)
        calls.reset()
        api.login("alice", PASSWORD)
    order = [name for name, _ in calls.log if name in ("UpdateItem", "PutItem")]
    # Reservation (UpdateItem on the customer) first, then the session, then the last write.
    assert order[:3] == ["UpdateItem", "PutItem", "UpdateItem"]


# A login that verified against what is no longer the customer's ------------------------


@pytest.mark.parametrize("change", ["generation", "password"])
def test_a_login_that_ran_across_a_revocation_gets_no_token(store, hasher, argon2_pool, change):
    argon2_pool(2, 4)
    with serve(store, pool_size=DB_THREADS, execution_timeout_seconds=60) as api:
        api.register("alice", PASSWORD)
        with paused(store.client, "PutItem", when=_is_session_put) as pause:
            login = Background(lambda: _login(api, "alice", PASSWORD))
            pause.wait_reached()  # verified; about to write its session
            update = (
                "ADD session_generation :one"
                if change == "generation"
                else "SET password_hash = :one"  # any other value: a changed password
            )
            store.client.update_item(
                TableName=store.table_name,
                Key=to_attributes(customer_key("alice")),
                UpdateExpression=update,
                ExpressionAttributeValues=to_attributes(
                    {":one": 1 if change == "generation" else "another hash"}
                ),
            )
            pause.release()
            result = login.result()
    assert_refused(result, "UNAUTHENTICATED", WRONG_CREDENTIALS)
    assert sessions_in_table(store, "alice") == []


def sessions_in_table(store, customer_id: str) -> list:
    """Every parent session item of the customer, read from the base table (a Scan is fine
    in a test: it sees what the GSI might not list yet)."""
    items = store.client.scan(TableName=store.table_name)["Items"]
    return [
        i for i in items if i["PK"]["S"].startswith("suuid#") and i["SK"]["S"] == f"c#{customer_id}"
    ]


# Defect 8: argon2's bounded queue ----------------------------------------------------------


def test_a_full_argon2_queue_answers_rate_limited_at_once_with_retry_after(
    store, hasher, argon2_pool, calls
):
    pool = argon2_pool(1, 1)  # one running, one waiting
    with serve(store, pool_size=DB_THREADS, execution_timeout_seconds=60) as api:
        api.register("alice", PASSWORD)
        token, _ = api.login("alice", PASSWORD)
        with hasher.hold("guess 1") as running:
            first = Background(lambda: _login(api, "alice", "guess 1"))
            running.wait_reached()  # in argon2's only thread
            with paused(store.client, "UpdateItem") as pause:
                second = Background(lambda: _login(api, "alice", "guess 2"))
                pause.wait_reached()  # admitted to the queue, reserving its attempt
                assert pool.admitted == 2

                calls.reset()
                refused = {
                    "login": _login(api, "alice", PASSWORD),
                    "registerCustomer": api(REGISTER, {"c": "bob", "p": PASSWORD}),
                    "changePassword": api(
                        CHANGE_PASSWORD, {"old": PASSWORD, "new": "a new password"}, token=token
                    ),
                }
                # Refused before any password work began: the login reserved nothing, the
                # registration wrote nothing (changePassword only looked its token up).
                assert calls.counts.get("UpdateItem", 0) == calls.counts.get("PutItem", 0) == 0
        for result in (first.result(), second.result()):
            assert_refused(result, "UNAUTHENTICATED", WRONG_CREDENTIALS)
        for name, result in refused.items():
            assert_refused(result, "RATE_LIMITED", RATE_LIMITED, status=200)
            assert result.headers.get("retry-after") == "1", name
        # Refused work was not counted as failed; once the queue drains, alice gets in.
        assert _failures(store) == (2, False)
        api.login("alice", PASSWORD)
    assert get_customer(store, "bob") is None


def test_answers_without_retry_later_errors_carry_no_retry_after(store, hasher):
    with serve(store, pool_size=DB_THREADS, execution_timeout_seconds=60) as api:
        api.register("alice", PASSWORD)
        wrong = _login(api, "alice", "wrong guess")
        right = api(LOGIN, {"c": "alice", "p": PASSWORD})
    assert "retry-after" not in wrong.headers
    assert "retry-after" not in right.headers


def test_a_lock_runs_out_and_the_window_restarts(store, hasher, clock, argon2_pool):
    argon2_pool(2, 4)
    with serve(store, pool_size=DB_THREADS, execution_timeout_seconds=60) as api:
        api.register("alice", PASSWORD)
        for attempt in range(5):
            _login(api, "alice", f"guess {attempt}")
        assert _failures(store) == (5, True)
        clock.advance(timedelta(minutes=16))  # the lock and the window are over
        _login(api, "alice", "guess 5")
        assert _failures(store) == (1, False)
        api.login("alice", PASSWORD)


def test_a_login_replaces_a_hash_made_with_older_parameters(store, hasher):
    older = PasswordHasher(time_cost=2, memory_cost=8, parallelism=1)
    with serve(store, pool_size=DB_THREADS) as api:
        api.register("alice", PASSWORD)
        store.client.update_item(
            TableName=store.table_name,
            Key=to_attributes(customer_key("alice")),
            UpdateExpression="SET password_hash = :h",
            ExpressionAttributeValues=to_attributes({":h": older.hash(PASSWORD)}),
        )
        api.login("alice", PASSWORD)  # verifies against the old hash, then stores a new one
        alice = get_customer(store, "alice")
        assert alice is not None and alice.password_hash is not None
        assert extract_parameters(alice.password_hash).time_cost == hasher.time_cost == 1
        api.login("alice", PASSWORD)


def test_error_answers_made_outside_graphql_carry_retry_after_alike():
    assert json_error(503, "down", code="STORE_UNAVAILABLE").headers["retry-after"] == "1"
    assert "retry-after" not in json_error(400, "bad").headers
