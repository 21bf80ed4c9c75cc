"""Typed records for the three kinds of item, built from raw items of ours or of others.

Tables written by other tools (the AWS sample) have random ids, zone-less times, child items
without `customer_id` and no `expires_at`: every field that such an item may lack is optional.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from dynamo.keys import ParsedKey, parse_key
from dynamo.timefmt import parse_epoch, parse_iso

SessionState = Literal["active", "closing"]
Item = dict[str, Any]
"""An item as plain Python values (boto3's TypeDeserializer output)."""


def _state(value: object) -> SessionState:
    # Anything but "active" (the sample's "closing", or an unknown word) stops the session.
    return "active" if value == "active" else "closing"


def _number(value: object) -> int | None:
    return int(value) if isinstance(value, (int, Decimal)) and not isinstance(value, bool) else None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _count(value: object) -> int:
    """A Number attribute as an int; absent or of another type (foreign tables): 0."""
    return int(value) if isinstance(value, (int, Decimal)) and not isinstance(value, bool) else 0


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionRecord:
    session_id: str
    customer_id: str | None
    state: SessionState
    access_token_hash: str | None
    created_at: datetime | None
    last_access_time: datetime | None
    expires_at: datetime | None
    pk: str
    sk: str
    session_generation: int = 0
    """The customer's generation it was created under (a child: its parent's); absent = 0."""

    @property
    def key(self) -> dict[str, str]:
        return {"PK": self.pk, "SK": self.sk}

    @property
    def is_child(self) -> bool:
        return False


@dataclass(frozen=True, slots=True, kw_only=True)
class ParentSession(SessionRecord):
    customer_id: str
    last_login_time: datetime | None
    ip_address: str | None
    user_agent: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChildSession(SessionRecord):
    parent_session_id: str
    client: str | None
    parent_session_state: str | None

    @property
    def is_child(self) -> bool:
        return True


@dataclass(frozen=True, slots=True, kw_only=True)
class Customer:
    customer_id: str
    password_hash: str | None
    created_at: datetime | None
    last_login_time: datetime | None
    failed_logins: int = 0
    """Failed password logins in the window that started at `failed_since`."""
    failed_since: datetime | None = None
    locked_until: datetime | None = None
    session_generation: int = 0
    """Bumped by logoutAll and changePassword: sessions of an older generation are dead."""
    revoked_reason: str | None = None
    """Why the generation was last bumped: `LOGOUT_ALL` or `PASSWORD_CHANGED`."""
    kept_session_id: str | None = None
    """The parent session whose changePassword made this generation: it lives on at the
    generation before (until it is restamped), see `dynamo.revocation`."""
    login_attempts: int = 0
    """Password attempts ever reserved (only ever grows): "did anyone try since me?"."""
    failed_window: int | None = None
    """Which window `failed_logins` counts in: the `login_attempts` number that opened it."""


AnyRecord = ParentSession | ChildSession | Customer


def record_from_item(item: Item) -> AnyRecord | None:
    """Build the record an item holds, or None when the item is none of ours."""
    pk, sk = item.get("PK"), item.get("SK")
    if not isinstance(pk, str) or not isinstance(sk, str):
        return None
    parsed = parse_key(pk, sk)
    if parsed is None:
        return None
    if parsed.kind == "customer":
        return _customer(item, parsed)
    if parsed.kind == "parent":
        return _parent(item, parsed, pk, sk)
    return _child(item, parsed, pk, sk)


def _customer(item: Item, parsed: ParsedKey) -> Customer:
    assert parsed.customer_id is not None
    failed = item.get("failed_logins")
    return Customer(
        customer_id=parsed.customer_id,
        password_hash=_text(item.get("password_hash")),
        created_at=parse_iso(item.get("created_at")),
        last_login_time=parse_iso(item.get("last_login_time")),
        failed_logins=int(failed) if isinstance(failed, (int, Decimal)) else 0,
        failed_since=parse_epoch(item.get("failed_since")),
        locked_until=parse_epoch(item.get("locked_until")),
        session_generation=_count(item.get("session_generation")),
        revoked_reason=_text(item.get("revoked_reason")),
        kept_session_id=_text(item.get("kept_session_id")),
        login_attempts=_count(item.get("login_attempts")),
        failed_window=_number(item.get("failed_window")),
    )


def _parent(item: Item, parsed: ParsedKey, pk: str, sk: str) -> ParentSession:
    assert parsed.session_id is not None and parsed.customer_id is not None
    return ParentSession(
        session_id=parsed.session_id,
        customer_id=parsed.customer_id,
        state=_state(item.get("session_state")),
        access_token_hash=_text(item.get("access_token")),
        created_at=parse_iso(item.get("created_at")),
        expires_at=parse_epoch(item.get("expires_at")),
        last_login_time=parse_iso(item.get("last_login_time")),
        last_access_time=parse_iso(item.get("last_access_time")),
        ip_address=_text(item.get("ip_address")),
        user_agent=_text(item.get("user_agent")),
        pk=pk,
        sk=sk,
        session_generation=_count(item.get("session_generation")),
    )


def _child(item: Item, parsed: ParsedKey, pk: str, sk: str) -> ChildSession:
    assert parsed.session_id is not None and parsed.parent_session_id is not None
    return ChildSession(
        session_id=parsed.session_id,
        customer_id=_text(item.get("customer_id")),
        parent_session_id=parsed.parent_session_id,
        state=_state(item.get("session_state")),
        access_token_hash=_text(item.get("access_token")),
        created_at=parse_iso(item.get("created_at")),
        last_access_time=parse_iso(item.get("last_access_time")),
        expires_at=parse_epoch(item.get("expires_at")),
        client=_text(item.get("client")),
        parent_session_state=_text(item.get("parent_session_state")),
        pk=pk,
        sk=sk,
        session_generation=_count(item.get("session_generation")),
    )


def is_expired(item: Item, now: datetime) -> bool:
    """TTL deletion is lazy: an item whose `expires_at` has passed is treated as absent."""
    expires_at = parse_epoch(item.get("expires_at"))
    return expires_at is not None and expires_at <= now
