"""Password guessing: a customer locks after 5 failures within 15 minutes, for a lock that
doubles with each further failure (at most an hour); the count lives on the customer item, so
every server process sees it. Unknown and wrong cost one argon2 verification, locked none
(its guess is never evaluated); all get the same answer. Passwords are 8 to 1024 characters."""

from __future__ import annotations

from datetime import timedelta

import boto3
import pytest
from argon2 import extract_parameters

from dynamo.customers import get_customer
from dynamo.store import Store
from resolvers import passwords
from resolvers.mutations import WRONG_CREDENTIALS
from tests.security.helpers import (
    LOGIN,
    PASSWORD,
    POOL_SIZE,
    REAL_DUMMY_HASH,
    REAL_HASHER,
    VIEWER,
    assert_refused,
    moto_only,
    serve,
)
from tests.support.api import ADMIN_TOKEN

REGISTER = (
    "mutation($c: String!, $p: String!) "
    "{ registerCustomer(customerId: $c, password: $p) { customerId } }"
)
PASSWORD_RULE = "password must be 8 to 1024 characters long"


def _refused_login(api, customer_id: str, password: str) -> dict:
    result = api(LOGIN, {"c": customer_id, "p": password})
    assert_refused(result, "UNAUTHENTICATED", WRONG_CREDENTIALS)
    return result.body


@pytest.fixture
def second_store(store: Store, backend: str, request: pytest.FixtureRequest) -> Store:
    """The same table through a client of its own, as another server process would have."""
    if backend == "moto":
        client = boto3.client("dynamodb", region_name="us-east-1")
    else:
        client = request.getfixturevalue("dynamodb_local_server").client()
    return Store(
        client=client,
        table_name=store.table_name,
        clock=store.clock,
        policy=store.policy,
        lockout=store.lockout,
    )


def _lock_left(store: Store) -> timedelta | None:
    customer = get_customer(store, "alice")
    assert customer is not None
    if customer.locked_until is None:
        return None
    return customer.locked_until - store.clock.now()


def test_five_failures_lock_the_customer_in_every_server_process(
    store, second_store, backend, clock
):
    size = POOL_SIZE[backend]
    with serve(store, pool_size=size) as first, serve(second_store, pool_size=size) as second:
        first.register("alice", PASSWORD)
        for attempt in range(4):
            _refused_login((first, second)[attempt % 2], "alice", f"guess {attempt}")
        customer = get_customer(store, "alice")
        assert customer is not None
        assert (customer.failed_logins, customer.locked_until) == (4, None)

        # The fifth failure, on the second server, locks alice for a minute.
        _refused_login(second, "alice", "guess 4")
        assert _lock_left(store) == timedelta(minutes=1)

        # While locked, the right password on the first server is refused alike, and does
        # not count: a stranger's guesses cannot stretch the lock, nor can the owner.
        _refused_login(first, "alice", PASSWORD)
        _refused_login(first, "alice", "guess 5")
        assert _lock_left(second_store) == timedelta(minutes=1)

        # Once the lock has run out, another failure within the window doubles it.
        clock.advance(timedelta(minutes=1, seconds=1))
        _refused_login(second, "alice", "guess 6")
        assert _lock_left(store) == timedelta(minutes=2)

        # Once the lock ends, the right password works on either, and the record is cleared.
        clock.advance(timedelta(minutes=2, seconds=1))
        token, session_id = first.login("alice", PASSWORD)
        assert second(VIEWER, token=token).ok() == {"viewer": {"sessionId": session_id}}
        customer = get_customer(second_store, "alice")
        assert customer is not None
        assert (customer.failed_logins, customer.failed_since, customer.locked_until) == (
            0,
            None,
            None,
        )


@moto_only
def test_the_lock_doubles_with_each_failure_up_to_an_hour(api, store, clock):
    api.register("alice", PASSWORD)
    for attempt in range(4):
        _refused_login(api, "alice", f"guess {attempt}")
    locks = []
    for attempt in range(4, 8):  # 1 + 2 + 4 minutes of locks fit in the 15-minute window
        _refused_login(api, "alice", f"guess {attempt}")
        lock = _lock_left(store)
        assert lock is not None
        locks.append(lock / timedelta(minutes=1))
        clock.advance(
            lock + timedelta(seconds=1)
        )  # wait it out: attempts while locked do not count
    assert locks == [1, 2, 4, 8]


@moto_only
def test_the_lock_is_at_most_an_hour(store):
    assert [store.lockout.lock_for(n) / timedelta(minutes=1) for n in (5, 10, 11, 12, 40)] == [
        1,
        32,
        60,
        60,
        60,
    ]


def test_failures_spread_beyond_the_window_do_not_lock(api, store, clock):
    api.register("alice", PASSWORD)
    for attempt in range(4):
        _refused_login(api, "alice", f"guess {attempt}")
    clock.advance(timedelta(minutes=15, seconds=1))
    for attempt in range(4):
        _refused_login(api, "alice", f"guess {attempt}")
    customer = get_customer(store, "alice")
    assert customer is not None
    assert (customer.failed_logins, customer.locked_until) == (4, None)
    api.login("alice", PASSWORD)


@moto_only
def test_unknown_and_wrong_cost_one_verification_locked_none_and_all_read_the_same(
    api, store, hasher, calls
):
    api.register("alice", PASSWORD)
    api.register("bob", PASSWORD)
    for attempt in range(5):
        _refused_login(api, "bob", f"guess {attempt}")
    # A customer item with no password: made by the admin's passwordless (SSO) login.
    api.admin('mutation { login(customerId: "carol") { accessToken } }').ok()
    cases = {
        "unknown customer": ("nobody", PASSWORD),
        "wrong password": ("alice", "not the password"),
        "locked, right password": ("bob", PASSWORD),
        "locked, wrong password": ("bob", "not the password"),
        "no password set": ("carol", PASSWORD),
    }
    answers = {}
    for case, (customer_id, password) in cases.items():
        before = len(hasher.verified)
        answers[case] = _refused_login(api, customer_id, password)
        verified = hasher.verified[before:]
        # A locked customer's guess is refused before argon2: never evaluated.
        assert len(verified) == (0 if customer_id == "bob" else 1), case
        if customer_id in ("nobody", "carol"):
            assert verified == [passwords._DUMMY_HASH], case
    assert len({str(answer) for answer in answers.values()}) == 1, answers
    # A guessed id leaves nothing behind.
    assert get_customer(store, "nobody") is None
    alice = get_customer(store, "alice")
    assert alice is not None
    assert alice.password_hash is not None
    assert extract_parameters(passwords._DUMMY_HASH) == extract_parameters(alice.password_hash)


def test_the_dummy_hash_costs_what_a_real_password_hash_costs():
    """Checked on the module's own (production-cost) argon2 objects."""
    real = REAL_HASHER.hash("some password of a customer")
    assert extract_parameters(REAL_DUMMY_HASH) == extract_parameters(real)
    assert extract_parameters(real).type.name == "ID"


@moto_only
@pytest.mark.parametrize("length", [0, 7, 1025, 10_000])
def test_a_password_outside_8_to_1024_characters_is_refused_at_registration(
    api, store, hasher, calls, length
):
    calls.reset()
    result = api(REGISTER, {"c": "alice", "p": "p" * length})
    assert_refused(result, "BAD_USER_INPUT", PASSWORD_RULE)
    assert calls.total == 0
    assert hasher.hashed == 0
    assert get_customer(store, "alice") is None


@moto_only
@pytest.mark.parametrize("length", [8, 1024])
def test_a_password_of_8_or_1024_characters_is_accepted(api, length):
    password = "é" * length  # characters, not bytes
    assert api(REGISTER, {"c": "alice", "p": password}).ok() == {
        "registerCustomer": {"customerId": "alice"}
    }
    api.login("alice", password)


@moto_only
def test_an_oversized_password_at_login_is_refused_without_argon2_work(api, alice, hasher, calls):
    calls.reset()
    before = len(hasher.verified)
    _refused_login(api, "alice", "p" * 10_000)
    assert len(hasher.verified) == before
    assert calls.total == 0


@moto_only
def test_a_passwordless_login_is_the_admins_alone_locked_or_not(api, store):
    """Anonymous callers cannot skip the password (and the lock); the admin (SSO) can."""
    api.register("alice", PASSWORD)
    for attempt in range(5):
        _refused_login(api, "alice", f"guess {attempt}")
    anonymous = api('mutation { login(customerId: "alice") { accessToken } }')
    assert_refused(
        anonymous,
        "UNAUTHENTICATED",
        "a password is required (only the admin may log in without)",
    )
    token = api.admin('mutation { login(customerId: "alice") { accessToken } }').ok()["login"][
        "accessToken"
    ]
    assert api(VIEWER, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).ok() == {"viewer": None}
    assert api(VIEWER, token=token).ok()["viewer"] is not None
