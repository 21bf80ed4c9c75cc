"""Subscriptions: turning the table's changes into `sessionEnded` and `customerSessionEvents`.

A subscriber watches the items its answer hangs on (its session, its parent for a child, its
customer item) through the server's change feed. Whenever one of them changes, and when its
deadline comes, the subscriber reads them again, strongly consistent (one BatchGetItem, the
changes queued meanwhile taken together), and checks its token again from that same read,
exactly as a request would (`resolvers.auth.check_session_token_in`), without sliding the
deadline. The change only says why: the reasons follow the revocation contract, decided by
the token check's own predicate (`dynamo.revocation.is_current`).

- a parent `closing` or removed: LOGOUT for itself, PARENT_ENDED for its children;
- a child removed while its parent lives: LOGOUT;
- the customer's `session_generation` above the session's: the customer's `revoked_reason`
  (LOGOUT_ALL or PASSWORD_CHANGED);
- an `expires_at` passed (the timer, or a TTL removal): EXPIRED.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from dynamo.batch import batch_get
from dynamo.keys import (
    child_session_key,
    customer_key,
    parent_session_key,
    parse_key,
    validate_id,
)
from dynamo.records import ChildSession, Customer, Item, ParentSession, record_from_item
from dynamo.revocation import session_is_current
from dynamo.sessions import live_record
from dynamo.store import Store
from dynamo.streams import Change, Key, key_tuple
from dynamo.timefmt import parse_epoch
from resolvers.auth import bearer_token, check_session_token_in
from resolvers.caller import Admin, Anonymous, SessionCaller
from resolvers.change_feed import ChangeFeed, ChangeStream
from resolvers.context import RequestContext
from resolvers.errors import INVALID_TOKEN, BadUserInput, Forbidden, RateLimited, Unauthenticated

EndReason = Literal["LOGOUT", "LOGOUT_ALL", "PASSWORD_CHANGED", "PARENT_ENDED", "EXPIRED"]
EventKind = Literal["STARTED", "ENDED"]
REVOKED_REASONS: tuple[EndReason, ...] = ("LOGOUT_ALL", "PASSWORD_CHANGED")
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


def _customer(item: Mapping[str, object] | None) -> Customer | None:
    record = record_from_item(dict(item)) if item else None
    return record if isinstance(record, Customer) else None


def _session(item: Mapping[str, object] | None) -> ParentSession | ChildSession | None:
    record = record_from_item(dict(item)) if item else None
    return record if isinstance(record, (ParentSession, ChildSession)) else None


def revoked(customer: Customer, *sessions: Mapping[str, object] | None) -> bool:
    """Whether a generation bump ended any of these session images (parent or child); an
    image not seen decides nothing. The token check's predicate (`dynamo.revocation`)."""
    for item in sessions:
        session = _session(item)
        if session is not None and not session_is_current(customer, session):
            return True
    return False


def revoked_reason(customer: Customer) -> EndReason:
    return "PASSWORD_CHANGED" if customer.revoked_reason == "PASSWORD_CHANGED" else "LOGOUT_ALL"


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
        customer = key_tuple(customer_key(caller.customer_id))
        if caller.is_child:
            return cls(
                token=token,
                session_id=caller.session.session_id,
                own=key_tuple(
                    child_session_key(caller.parent.session_id, caller.session.session_id)
                ),
                customer=customer,
                parent=key_tuple(parent_session_key(caller.parent.session_id, caller.customer_id)),
            )
        return cls(
            token=token,
            session_id=caller.session.session_id,
            own=key_tuple(parent_session_key(caller.session.session_id, caller.customer_id)),
            customer=customer,
        )

    @property
    def keys(self) -> list[Key]:
        return [self.own, self.customer] + ([self.parent] if self.parent else [])


@dataclass
class SubjectState:
    """What a subscriber knows of its items: the latest read, and each item's last image
    seen (a removed item's old image still says when it would have expired)."""

    subject: Subject
    items: dict[Key, Item | None] = field(default_factory=dict)
    known: dict[Key, Item] = field(default_factory=dict)

    def update(self, items: Mapping[Key, Item | None], changes: Sequence[Change] = ()) -> None:
        for change in changes:
            if change.old is not None:
                self.known[change.key] = change.old
        self.items = dict(items)
        self.known.update({k: v for k, v in items.items() if v is not None})

    @property
    def deadline(self) -> datetime | None:
        return parse_epoch((self.items.get(self.subject.own) or {}).get("expires_at"))

    def end_reason(self, changes: Sequence[Change], now: datetime) -> EndReason | None:
        """Why the session ended, from what the items say; None if they say it lives.
        `changes` (those that prompted this read) only tell a TTL removal apart."""
        subject = self.subject
        own = self.items.get(subject.own)
        own_known = own or self.known.get(subject.own)
        customer = _customer(self.items.get(subject.customer))
        parent = self.items.get(subject.parent) if subject.parent else None
        parent_known = parent or (self.known.get(subject.parent) if subject.parent else None)
        if customer is not None and revoked(customer, own_known, parent_known):
            return revoked_reason(customer)

        def by_ttl(key: Key | None) -> bool:
            return any(c.key == key and c.by_ttl for c in changes)

        if subject.parent is not None and (not _active(parent) or _expired(parent, now)):
            expired = by_ttl(subject.parent) or _expired(parent_known, now)
            return "EXPIRED" if expired else "PARENT_ENDED"
        if own is None:
            return "EXPIRED" if by_ttl(subject.own) or _expired(own_known, now) else "LOGOUT"
        if _expired(own, now):
            return "EXPIRED"
        return None if _active(own) else "LOGOUT"

    def token_lives(self, now: datetime) -> bool:
        """The subject's token, checked as a request checks it, on the items as last read."""
        records = {key: live_record(item, now) for key, item in self.items.items()}
        return check_session_token_in(self.subject.token, records) is not None


def read_items(store: Store, keys: list[Key]) -> dict[Key, Item | None]:
    """The items, strongly consistent (one BatchGetItem), expired ones included."""
    items = batch_get(store, [{"PK": pk, "SK": sk} for pk, sk in keys])
    return dict(zip(keys, items, strict=True))


async def check_subject(
    ctx: RequestContext, state: SubjectState, changes: Sequence[Change] = ()
) -> EndReason | None:
    """Read the subject's items again (one consistent BatchGetItem) and judge them and its
    token from that read; why it ended, or None."""
    state.update(await ctx.call(read_items, ctx.store, state.subject.keys), changes)
    now = ctx.store.clock.now()
    reason = state.end_reason(changes, now)
    if reason is not None:
        return reason
    # The items look alive; a rule they do not show (the token's secret) may still refuse.
    return None if state.token_lives(now) else "LOGOUT"


async def next_changes(changes: ChangeStream, within: float | None) -> list[Change]:
    """The next change and every one queued behind it, taken together: one re-read for all
    (none when `within` seconds passed first)."""
    first = await changes.next(within)
    return [] if first is None else [first, *changes.drain()]


@asynccontextmanager
async def _subscription_of(ctx: RequestContext, session_id: str) -> AsyncIterator[None]:
    """Count one subscription of the session in this process (`subscriptions_per_session`)."""
    feed = _feed(ctx)
    if not feed.hold_subscription(session_id):
        raise RateLimited(
            "this session runs as many subscriptions as one server process allows "
            "(SESSIONGRAPH_SUBSCRIPTIONS_PER_SESSION): complete one first"
        )
    try:
        yield
    finally:
        feed.release_subscription(session_id)


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
    async with (
        _subscription_of(ctx, state.subject.session_id),
        _feed(ctx).watch(state.subject.keys) as changes,
    ):
        batch: list[Change] = []
        while True:
            reason = await check_subject(ctx, state, batch)
            if reason is not None:
                return SessionEnded(state.subject.session_id, reason)
            batch = await next_changes(changes, _timer(ctx, state))


def _timer(ctx: RequestContext, state: SubjectState) -> float | None:
    """Seconds until the subject's deadline (then it reads again, since use slides it)."""
    return _seconds_until(state.deadline, ctx.store.clock.now())


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
        elif (customer := _customer(self.customer)) is not None and revoked(customer, old):
            reason = revoked_reason(customer)
        elif is_child and parsed.parent_session_id in self.ended:
            reason = "PARENT_ENDED"
        else:
            reason = "LOGOUT"
        return self._ended(parsed.session_id, is_child, reason)

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
    if state is None:
        async with _feed(ctx).watch([key_tuple(customer_key(customer_id))], [customer_id]) as feed:
            while True:
                for change in await next_changes(feed, None):
                    for event in tracker.events(change, ctx.store.clock.now()):
                        yield event
    subject = state.subject
    async with (
        _subscription_of(ctx, subject.session_id),
        _feed(ctx).watch(subject.keys, [customer_id]) as changes,
    ):
        if await check_subject(ctx, state) is not None:
            raise Unauthenticated(INVALID_TOKEN)
        while True:
            # A change, or the subscriber's own deadline: its session may idle out unseen.
            batch = await next_changes(changes, _timer(ctx, state))
            now = ctx.store.clock.now()
            events = [event for change in batch for event in tracker.events(change, now)]
            # The token is checked again before anything is delivered to it.
            reason = await check_subject(ctx, state, batch)
            if reason is None:
                for event in events:
                    yield event
                continue
            own = [e for e in events if e.session_id == subject.session_id]
            yield own[0] if own else SessionEvent("ENDED", subject.session_id, False, reason)
            return
