"""Subscriptions: turning the table's changes into `sessionEnded` and `customerSessionEvents`.

A subscriber watches the items its answer hangs on (its session, its parent for a child, its
customer item) through the server's change feed. Whenever one of them changes, and when its
deadline comes, the subscriber reads them again, strongly consistent, and checks its token
again, exactly as a request would (`resolvers.auth.check_session_token`), without sliding
the deadline. The change only says why: the reasons follow the revocation contract.

- a parent `closing` or removed: LOGOUT for itself, PARENT_ENDED for its children;
- a child removed while its parent lives: LOGOUT;
- the customer's `session_generation` above the session's: the customer's `revoked_reason`
  (LOGOUT_ALL or PASSWORD_CHANGED);
- an `expires_at` passed (the timer, or a TTL removal): EXPIRED.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal

from dynamo.batch import batch_get
from dynamo.keys import (
    ParsedKey,
    child_session_key,
    customer_key,
    parent_session_key,
    parse_key,
    validate_id,
)
from dynamo.records import Item
from dynamo.store import Store
from dynamo.streams import Change, Key
from dynamo.timefmt import parse_epoch, parse_iso
from resolvers.auth import bearer_token, check_session_token
from resolvers.caller import Admin, Anonymous, SessionCaller
from resolvers.change_feed import ChangeFeed
from resolvers.context import RequestContext
from resolvers.errors import INVALID_TOKEN, BadUserInput, Forbidden, Unauthenticated

EndReason = Literal["LOGOUT", "LOGOUT_ALL", "PASSWORD_CHANGED", "PARENT_ENDED", "EXPIRED"]
EventKind = Literal["STARTED", "ENDED"]
REVOKED_REASONS: tuple[EndReason, ...] = ("LOGOUT_ALL", "PASSWORD_CHANGED")
GENERATION_ATTRIBUTE = "session_generation"
REVOKED_REASON_ATTRIBUTE = "revoked_reason"
KEPT_SESSION_ATTRIBUTE = "kept_session_id"
TIMER_MARGIN_SECONDS = 0.05
"""`expires_at` is whole seconds and a session is expired at it: read just after."""
MAX_REMEMBERED_ENDINGS = 10_000


@dataclass(frozen=True, slots=True)
class SessionEnded:
    session_id: str
    reason: EndReason


@dataclass(frozen=True, slots=True)
class SessionEvent:
    kind: EventKind
    session_id: str
    is_child: bool
    reason: EndReason | None = None


def generation(item: Mapping[str, object] | None) -> int:
    """A session's or customer's `session_generation`; absent is 0."""
    value = item.get(GENERATION_ATTRIBUTE) if item else None
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return int(value)
    return 0


def current(
    customer: Mapping[str, object], parent: Mapping[str, object] | None, parent_id: str | None
) -> bool:
    """A parent session no generation bump has ended: at the customer's generation, or the
    one changePassword kept (`kept_session_id`), one behind until it is restamped."""
    customer_generation, own = generation(customer), generation(parent)
    if own >= customer_generation:
        return True
    kept = customer.get(KEPT_SESSION_ATTRIBUTE)
    return kept is not None and kept == parent_id and own >= customer_generation - 1


def revoked_reason(customer: Mapping[str, object]) -> EndReason:
    value = customer.get(REVOKED_REASON_ATTRIBUTE)
    return "PASSWORD_CHANGED" if value == "PASSWORD_CHANGED" else "LOGOUT_ALL"


def marked_revoked(
    customer: Mapping[str, object], session: Mapping[str, object] | None, *, is_child: bool
) -> EndReason | None:
    """The revocation mark logoutAll and changePassword set on the customer item before the
    generation of the revocation contract (`sessions_valid_after`, but `sessions_kept_id`, the
    session that changed the password): why it revoked `session`, or None."""
    valid_after = parse_iso(customer.get("sessions_valid_after"))
    if valid_after is None or session is None:
        return None
    kept = customer.get("sessions_kept_id")
    session_id = parse_key(str(session.get("PK", "")), str(session.get("SK", "")))
    if not is_child and session_id is not None and session_id.session_id == kept:
        return None
    created = parse_iso(session.get("created_at"))
    if created is not None and created > valid_after:
        return None
    return "PASSWORD_CHANGED" if kept else "LOGOUT_ALL"


def _expired(item: Mapping[str, object] | None, now: datetime) -> bool:
    deadline = parse_epoch(item.get("expires_at")) if item else None
    return deadline is not None and deadline <= now


def _active(item: Mapping[str, object] | None) -> bool:
    return item is not None and item.get("session_state") == "active"


# sessionEnded --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Subject:
    """A subscriber's own session and the items its life hangs on."""

    token: str
    session_id: str
    own: Key
    customer: Key
    parent: Key | None = None
    """The parent's key, for a child session."""

    @classmethod
    def of(cls, caller: SessionCaller, token: str) -> Subject:
        customer = _tuple(customer_key(caller.customer_id))
        if caller.is_child:
            return cls(
                token=token,
                session_id=caller.session.session_id,
                own=_tuple(child_session_key(caller.parent.session_id, caller.session.session_id)),
                customer=customer,
                parent=_tuple(parent_session_key(caller.parent.session_id, caller.customer_id)),
            )
        return cls(
            token=token,
            session_id=caller.session.session_id,
            own=_tuple(parent_session_key(caller.session.session_id, caller.customer_id)),
            customer=customer,
        )

    @property
    def parent_session_id(self) -> str | None:
        """The id of the parent session the subject hangs on: itself, or a child's parent."""
        parsed = parse_key(*(self.parent or self.own))
        return parsed.session_id if parsed is not None else None

    @property
    def keys(self) -> list[Key]:
        return [self.own, self.customer] + ([self.parent] if self.parent else [])


def _tuple(key: dict[str, str]) -> Key:
    return (key["PK"], key["SK"])


@dataclass
class SubjectState:
    """What a subscriber knows of its items: the latest read, and each item's last image
    seen (a removed item's old image still says when it would have expired)."""

    subject: Subject
    items: dict[Key, Item | None] = field(default_factory=dict)
    known: dict[Key, Item] = field(default_factory=dict)

    def update(self, items: Mapping[Key, Item | None], change: Change | None) -> None:
        if change is not None and change.old is not None:
            self.known[change.key] = change.old
        self.items = dict(items)
        self.known.update({k: v for k, v in items.items() if v is not None})

    @property
    def deadline(self) -> datetime | None:
        return parse_epoch((self.items.get(self.subject.own) or {}).get("expires_at"))

    def end_reason(self, change: Change | None, now: datetime) -> EndReason | None:
        """Why the session ended, from what the items say; None if they say it lives."""
        subject = self.subject
        own = self.items.get(subject.own)
        own_known = own or self.known.get(subject.own)
        customer = self.items.get(subject.customer)
        parent = self.items.get(subject.parent) if subject.parent else None
        parent_known = parent or (self.known.get(subject.parent) if subject.parent else None)
        if customer is not None:
            parent_item = parent_known if subject.parent is not None else own_known
            if not current(customer, parent_item, subject.parent_session_id):
                return revoked_reason(customer)
            if subject.parent is not None and generation(own_known) < generation(customer):
                return revoked_reason(customer)  # a child: never kept, its own must be current
            marked = marked_revoked(customer, own_known, is_child=subject.parent is not None)
            if subject.parent is not None:
                marked = marked or marked_revoked(customer, parent_known, is_child=False)
            if marked is not None:
                return marked
        if subject.parent is not None and (not _active(parent) or _expired(parent, now)):
            by_ttl = change is not None and change.key == subject.parent and change.by_ttl
            return "EXPIRED" if by_ttl or _expired(parent_known, now) else "PARENT_ENDED"
        if own is None:
            by_ttl = change is not None and change.key == subject.own and change.by_ttl
            return "EXPIRED" if by_ttl or _expired(own_known, now) else "LOGOUT"
        if _expired(own, now):
            return "EXPIRED"
        return None if _active(own) else "LOGOUT"


def read_items(store: Store, keys: list[Key]) -> dict[Key, Item | None]:
    """The items, strongly consistent (one BatchGetItem), expired ones included."""
    items = batch_get(store, [{"PK": pk, "SK": sk} for pk, sk in keys])
    return dict(zip(keys, items, strict=True))


async def check_subject(
    ctx: RequestContext, state: SubjectState, change: Change | None
) -> EndReason | None:
    """Read the subject's items again and check its token again; why it ended, or None."""
    state.update(await ctx.call(read_items, ctx.store, state.subject.keys), change)
    reason = state.end_reason(change, ctx.store.clock.now())
    if reason is not None:
        return reason
    if await ctx.call(check_session_token, ctx.store, state.subject.token) is not None:
        return None
    # It ended between the two reads: read the items once more (what ended it stays written)
    # to say why; if they still look alive, a rule they do not show ended it.
    state.update(await ctx.call(read_items, ctx.store, state.subject.keys), None)
    return state.end_reason(change, ctx.store.clock.now()) or "LOGOUT"


def _session_subscriber(ctx: RequestContext, what: str) -> tuple[SessionCaller, str]:
    caller = ctx.require_caller()
    token = bearer_token(ctx.authorization)
    if isinstance(caller, Admin):
        raise BadUserInput(f"{what} follows the bearer's own session; the admin token has none")
    if not isinstance(caller, SessionCaller) or token is None:
        raise Unauthenticated(f"log in first: {what} needs a session's token")
    return caller, token


def _feed(ctx: RequestContext) -> ChangeFeed:
    if ctx.events is None:
        raise BadUserInput(
            "subscriptions run over a WebSocket on /graphql (subprotocol graphql-transport-ws)"
        )
    return ctx.events


def _seconds_until(deadline: datetime | None, now: datetime) -> float | None:
    if deadline is None:
        return None
    return max(0.0, (deadline - now).total_seconds()) + TIMER_MARGIN_SECONDS


async def session_ended(ctx: RequestContext) -> SessionEnded:
    """Wait until the bearer's session ends, whatever ends it, and say why."""
    caller, token = _session_subscriber(ctx, "sessionEnded")
    state = SubjectState(Subject.of(caller, token))
    async with _feed(ctx).watch(state.subject.keys) as changes:
        change: Change | None = None
        while True:
            reason = await check_subject(ctx, state, change)
            if reason is not None:
                return SessionEnded(state.subject.session_id, reason)
            # Wait for a change, or for the deadline: then read again, since use slides it.
            timeout = _seconds_until(state.deadline, ctx.store.clock.now())
            change = await changes.next(timeout)


# customerSessionEvents -----------------------------------------------------------------------


@dataclass
class CustomerEvents:
    """A customer's sessions starting and ending, from the changes to its items."""

    customer_id: str
    customer: Item | None = None
    """The customer item's latest image: its generation (and revocation mark) tell why the
    sessions removed after a logoutAll or changePassword ended."""
    ended: OrderedDict[str, None] = field(default_factory=OrderedDict)

    def events(self, change: Change, now: datetime) -> list[SessionEvent]:
        parsed = parse_key(change.pk, change.sk)
        if parsed is None or change.baseline or change.customer_id != self.customer_id:
            return []
        if parsed.kind == "customer":
            self.customer = change.new
            return []
        assert parsed.session_id is not None
        is_child = parsed.kind == "child"
        if change.kind == "INSERT":
            if not _active(change.new):
                return []
            return [SessionEvent("STARTED", parsed.session_id, is_child)]
        if change.kind == "MODIFY":
            if _active(change.old) and not _active(change.new):
                return self._ended(parsed.session_id, is_child, "LOGOUT")
            return []
        old = change.old or {}
        if change.by_ttl or _expired(old, now):
            reason: EndReason = "EXPIRED"
        elif self.customer is not None and not self._current(old, parsed, is_child):
            reason = revoked_reason(self.customer)
        elif self.customer and (marked := marked_revoked(self.customer, old, is_child=is_child)):
            reason = marked
        elif is_child and parsed.parent_session_id in self.ended:
            reason = "PARENT_ENDED"
        else:
            reason = "LOGOUT"
        return self._ended(parsed.session_id, is_child, reason)

    def _current(self, old: Item, parsed: ParsedKey, is_child: bool) -> bool:
        assert self.customer is not None
        if is_child:
            return generation(old) >= generation(self.customer)
        return current(self.customer, old, parsed.session_id)

    def _ended(self, session_id: str, is_child: bool, reason: EndReason) -> list[SessionEvent]:
        if session_id in self.ended:
            return []  # a parent marked `closing` is reported then, not again when removed
        self.ended[session_id] = None
        while len(self.ended) > MAX_REMEMBERED_ENDINGS:
            self.ended.popitem(last=False)
        return [SessionEvent("ENDED", session_id, is_child, reason)]


async def customer_session_events(
    ctx: RequestContext, customer_id: str | None
) -> AsyncIterator[SessionEvent]:
    """A customer's sessions as they start and end. A parent session's token watches its
    own customer (and stops when it ends, with its own ENDED); the admin names one."""
    caller = ctx.require_caller()
    state: SubjectState | None = None
    if isinstance(caller, Anonymous):
        raise Unauthenticated("log in first: customerSessionEvents needs a token")
    if isinstance(caller, SessionCaller):
        if caller.is_child:
            raise Forbidden("a child session cannot watch its customer's sessions")
        if customer_id is not None and customer_id != caller.customer_id:
            raise Forbidden("a session can only watch its own customer's sessions")
        customer_id = caller.customer_id
        _, token = _session_subscriber(ctx, "customerSessionEvents")
        state = SubjectState(Subject.of(caller, token))
    elif customer_id is None:
        raise BadUserInput("customerId is required when the admin watches a customer")
    validate_id(customer_id, "customerId")
    tracker = CustomerEvents(customer_id)
    keys = state.subject.keys if state else [_tuple(customer_key(customer_id))]
    async with _feed(ctx).watch(keys, [customer_id]) as changes:
        if state is not None and await check_subject(ctx, state, None) is not None:
            raise Unauthenticated(INVALID_TOKEN)
        while True:
            change = await changes.next()
            if change is None:
                continue
            events = tracker.events(change, ctx.store.clock.now())
            if state is None:
                for event in events:
                    yield event
                continue
            # The token is checked again before anything is delivered to it.
            reason = await check_subject(ctx, state, change)
            if reason is None:
                for event in events:
                    yield event
                continue
            own = [e for e in events if e.session_id == state.subject.session_id]
            yield own[0] if own else SessionEvent("ENDED", state.subject.session_id, False, reason)
            return
