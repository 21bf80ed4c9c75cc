"""Failed password logins, counted atomically on the customer item across server processes.

Every password attempt is *reserved* before argon2 runs: one conditional UpdateItem counts
it as failed (and, when it is the attempt that reaches the threshold, sets the lock), so
concurrent guesses can never be evaluated more than the policy allows, whichever process
they reach. A failure then costs no further write. A success takes back its own reservation
in the login's last write, conditioned so that it cannot erase failures that arrived while
its password was being checked. Attempts while locked are refused without being counted.

The customer item holds (all Numbers):

| attribute | meaning |
|---|---|
| `login_attempts` | attempts ever reserved; only grows ("has anyone tried since me?") |
| `failed_logins` | attempts counted in the current window |
| `failed_since` | when the window opened (epoch seconds) |
| `failed_window` | the `login_attempts` number that opened it (tells two windows apart) |
| `locked_until` | end of the lock (epoch seconds) |

Which conditional write to try depends on the item's state. The first try assumes the
common case (no failures in the window); when its condition fails, the engine hands back
the item as it was (`ReturnValuesOnConditionCheckFailure`) and the next try is chosen from
that. The state read never decides anything: the next write's condition does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from dynamo.customer_item import customer_from_attributes, get_customer
from dynamo.keys import customer_key
from dynamo.records import Customer, record_from_item
from dynamo.store import Store, from_attributes, to_attributes
from dynamo.timefmt import to_epoch

log = logging.getLogger("sessiongraph")

MAX_TRIES = 8
"""Conditional writes one request tries before it gives up (each lost one means another
request made progress). Giving up refuses the attempt as locked: the safe side."""

NOT_LOCKED = "(attribute_not_exists(locked_until) OR locked_until <= :now)"

Outcome = Literal["granted", "locked", "unknown"]


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    """A reserved password attempt (`granted`), or why none was reserved."""

    outcome: Outcome
    customer: Customer | None = None
    """The customer item as the reservation left it, read in the same strongly consistent
    write: the password hash to check and the session generation to create the session in."""

    @property
    def serial(self) -> int:
        return self.customer.login_attempts if self.customer else 0

    @property
    def window(self) -> int | None:
        return self.customer.failed_window if self.customer else None


@dataclass
class Update:
    """One UpdateItem's expression, built from parts."""

    sets: list[str] = field(default_factory=list)
    adds: list[str] = field(default_factory=list)
    removes: list[str] = field(default_factory=list)
    conditions: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.sets or self.adds or self.removes)

    def expression(self) -> str:
        parts = []
        if self.sets:
            parts.append("SET " + ", ".join(self.sets))
        if self.adds:
            parts.append("ADD " + ", ".join(self.adds))
        if self.removes:
            parts.append("REMOVE " + ", ".join(self.removes))
        return " ".join(parts)

    def send(self, store: Store, customer_id: str, **extra: Any) -> dict[str, Any]:
        arguments: dict[str, Any] = {
            "TableName": store.table_name,
            "Key": to_attributes(customer_key(customer_id)),
            "UpdateExpression": self.expression(),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            **extra,
        }
        if self.conditions:
            arguments["ConditionExpression"] = " AND ".join(self.conditions)
        if self.values:
            arguments["ExpressionAttributeValues"] = to_attributes(self.values)
        return dict(store.client.update_item(**arguments))


class _Unread:
    """The item's state before any write came back."""


UNREAD = _Unread()
State = Customer | None | _Unread


def item_as_it_was(store: Store, customer_id: str, error: Exception) -> Customer | None:
    """The customer item a conditional write failed on (None: there is none).

    Engines send it back with the error. One that does not (an older emulator) gets a
    strongly consistent read instead, which costs a round trip but decides nothing.
    """
    response = getattr(error, "response", {}) or {}
    item = response.get("Item")
    if item is None:
        return get_customer(store, customer_id)
    return customer_from_attributes(item)


def is_locked(customer: Customer, now: datetime) -> bool:
    return customer.locked_until is not None and customer.locked_until > now


# Reserving an attempt ----------------------------------------------------------------------


def reserve_login_attempt(store: Store, customer_id: str) -> LoginAttempt:
    """Count a password attempt as failed before it is checked, or refuse it as locked.

    `unknown` when there is no customer item: the writes are conditional on the item
    existing, so a guessed id leaves nothing behind.
    """
    now = store.clock.now()
    state: State = UNREAD
    for _ in range(MAX_TRIES):
        if state is None:
            return LoginAttempt("unknown")
        if isinstance(state, Customer) and is_locked(state, now):
            return LoginAttempt("locked", state)
        update = _reservation(store, state, now)
        try:
            response = update.send(store, customer_id, ReturnValues="ALL_NEW")
        except store.client.exceptions.ConditionalCheckFailedException as exc:
            state = item_as_it_was(store, customer_id, exc)
            continue
        record = record_from_item(from_attributes(response.get("Attributes", {})))
        assert isinstance(record, Customer)
        return LoginAttempt("granted", record)
    log.warning("login attempt for a customer not reserved after %d tries: refused", MAX_TRIES)
    return LoginAttempt("locked")


def _reservation(store: Store, state: Customer | _Unread, now: datetime) -> Update:
    policy = store.lockout
    values: dict[str, Any] = {":one": 1, ":now": to_epoch(now)}
    floor = to_epoch(now - policy.window)
    in_window = (
        isinstance(state, Customer)
        and state.failed_since is not None
        and to_epoch(state.failed_since) > floor
    )
    if not in_window:
        # A new window, this attempt its first failure. Both operands read the item as it
        # was, so `failed_window` is the number this attempt gets.
        update = Update(
            sets=[
                "login_attempts = if_not_exists(login_attempts, :zero) + :one",
                "failed_window = if_not_exists(login_attempts, :zero) + :one",
                "failed_logins = :one",
                "failed_since = :now",
            ],
            conditions=[
                "attribute_exists(PK)",
                "(attribute_not_exists(failed_since) OR failed_since <= :floor)",
                NOT_LOCKED,
            ],
            values={**values, ":zero": 0, ":floor": floor},
        )
        _lock(update, policy.lock_for(1), now)
        return update
    assert isinstance(state, Customer)
    count = state.failed_logins + 1
    lock = policy.lock_for(count)
    if not lock:
        # Below the threshold: any number of these may run at once, no retry needed.
        return Update(
            adds=["login_attempts :one", "failed_logins :one"],
            conditions=[
                "failed_since > :floor",
                "failed_logins < :below",
                NOT_LOCKED,
            ],
            values={**values, ":floor": floor, ":below": policy.threshold - 1},
        )
    # This attempt sets the lock: only from exactly the state it saw.
    update = Update(
        sets=["failed_logins = :count"],
        adds=["login_attempts :one"],
        conditions=["failed_since > :floor", "failed_logins = :seen", NOT_LOCKED],
        values={**values, ":floor": floor, ":count": count, ":seen": state.failed_logins},
    )
    _same_window(update, state.failed_window)
    _lock(update, lock, now)
    return update


def _lock(update: Update, lock: Any, now: datetime) -> None:
    if lock:
        update.sets.append("locked_until = :until")
        update.values[":until"] = to_epoch(now + lock)
    else:
        update.removes.append("locked_until")


def _same_window(update: Update, window: int | None) -> None:
    if window is None:  # a window counted before windows were numbered
        update.conditions.append("attribute_not_exists(failed_window)")
    else:
        update.conditions.append("failed_window = :window")
        update.values[":window"] = window


# Settling it after a success -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Guard:
    """What must still hold on the customer item for a login's last write to apply."""

    generation: int
    password_hash: str | None = None
    """The hash the password was verified against (None for a passwordless login)."""

    def add_to(self, update: Update) -> None:
        update.conditions.append("attribute_exists(PK)")
        if self.generation == 0:
            update.conditions.append(
                "(attribute_not_exists(session_generation) OR session_generation = :gen)"
            )
        else:
            update.conditions.append("session_generation = :gen")
        update.values[":gen"] = self.generation
        if self.password_hash is not None:
            update.conditions.append("password_hash = :verified")
            update.values[":verified"] = self.password_hash

    def holds(self, customer: Customer | None) -> bool:
        return (
            customer is not None
            and customer.session_generation == self.generation
            and (self.password_hash is None or customer.password_hash == self.password_hash)
        )


class CustomerChangedError(Exception):
    """The customer's sessions were revoked (or the password changed) while a login ran."""


def settle_attempt(
    store: Store,
    customer_id: str,
    attempt: LoginAttempt | None,
    *,
    sets: list[str] | None = None,
    values: dict[str, Any] | None = None,
    guard: Guard | None = None,
) -> None:
    """Take back a successful attempt's reservation, in one write with the caller's `sets`.

    When nobody has tried since this attempt, the failure record is cleared (a success
    forgets earlier failures); when others did, only this attempt's own count is taken
    back, so their failures stand. With a `guard`, the write applies only while the guard
    holds, else `CustomerChangedError`.
    """
    state: State = UNREAD
    for _ in range(MAX_TRIES):
        if not isinstance(state, _Unread) and guard is not None and not guard.holds(state):
            raise CustomerChangedError(f"customer {customer_id} changed during the login")
        update = Update(sets=list(sets or []), values=dict(values or {}))
        if attempt is not None and attempt.outcome == "granted":
            _take_back(update, attempt, state)
        if guard is not None:
            guard.add_to(update)
        if update.empty:
            return
        try:
            update.send(store, customer_id)
        except store.client.exceptions.ConditionalCheckFailedException as exc:
            state = item_as_it_was(store, customer_id, exc)
            continue
        return
    raise CustomerChangedError(f"customer {customer_id}: login not recorded after {MAX_TRIES}")


def _take_back(update: Update, attempt: LoginAttempt, state: State) -> None:
    if isinstance(state, _Unread) or (
        isinstance(state, Customer) and state.login_attempts == attempt.serial
    ):
        update.removes += ["failed_logins", "failed_since", "failed_window", "locked_until"]
        update.conditions.append("login_attempts = :serial")
        update.values[":serial"] = attempt.serial
        return
    if (
        isinstance(state, Customer)
        and attempt.window is not None
        and state.failed_window == attempt.window
        and state.failed_logins >= 1
    ):
        update.adds.append("failed_logins :minus_one")
        update.conditions += ["failed_window = :window", "failed_logins >= :one"]
        update.values.update({":minus_one": -1, ":window": attempt.window, ":one": 1})
    # Otherwise the attempt's window is gone (cleared by another success, or run out):
    # there is nothing of its own left to take back.
