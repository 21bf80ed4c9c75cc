"""What every resolver gets: the store, the thread pool, the caller and fresh loaders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from dynamo.errors import is_store_unavailable
from dynamo.runner import BlockingCallRunner
from dynamo.store import Store
from resolvers.auth import bearer_token, is_admin_token, resolve_caller
from resolvers.caller import Anonymous, Caller, SessionCaller
from resolvers.change_feed import ChangeFeed
from resolvers.cleanup import BackgroundCleanup
from resolvers.errors import STORE_UNAVAILABLE_MESSAGE, ApiError, StoreUnavailable
from resolvers.loaders import Loaders
from resolvers.passwords import hashing_slot

if TYPE_CHECKING:
    from resolvers.session_cookie import SessionCookieJar

P = ParamSpec("P")
T = TypeVar("T")


@dataclass
class RequestContext:
    store: Store
    runner: BlockingCallRunner
    admin_token: str | None
    request_id: str
    authorization: str | None = None
    """The raw `Authorization` header; read by `authenticate`, after the query is validated."""
    client_ip: str | None = None
    user_agent: str | None = None
    session_cookie: SessionCookieJar | None = None
    """Cookie mode (resolvers/session_cookie.py): the request's session cookie; None when off."""
    authenticated_by_cookie: bool = False
    """`authorization` was taken from the session cookie (no Authorization header was sent)."""
    caller: Caller = field(default_factory=Anonymous)
    auth_error: ApiError | None = None
    """Set when the request carried a token that is no good; raised where a caller matters."""
    events: ChangeFeed | None = None
    """Set on a WebSocket connection (subscriptions): the table's changes, from the server."""
    closing_caller: SessionCaller | None = None
    """A closing session's token: no caller, except to `logout` again (finishing it)."""
    cleanup: BackgroundCleanup | None = None
    """Where a revocation hands the rest of its clean-up (not tied to this request)."""
    login_outcome: str | None = None
    """Set by a password check (login, changePassword): success, bad_credentials, locked or
    rate_limited; the server's metrics count it."""
    loaders: Loaders = field(init=False)
    _authenticated: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.store, self.runner)

    async def call(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a blocking `dynamo/` function in the bounded thread pool."""
        return await self.runner.run(fn, *args, **kwargs)

    async def hash_work(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run password hashing in its own bounded pool, apart from the DynamoDB calls;
        `RateLimited` at once when its queue is full."""
        with hashing_slot() as pool:
            return await pool.run(fn, *args, **kwargs)

    async def authenticate(self) -> None:
        """Find the caller: once per request, and only for a query that passed validation,
        so that a request refused by a limit costs no DynamoDB call."""
        if self._authenticated:
            return
        self._authenticated = True
        token = bearer_token(self.authorization)
        if token is None or is_admin_token(token, self.admin_token):
            # No token, a malformed header or the admin token: no store read, so no thread
            # hand-off (a round trip through the pool costs more than the check itself).
            self.caller, self.auth_error = resolve_caller(
                self.store, self.authorization, self.admin_token
            )
            return
        try:
            self.caller, self.auth_error = await self.call(
                resolve_caller, self.store, self.authorization, self.admin_token
            )
            if isinstance(self.caller, SessionCaller) and self.caller.closing:
                self.closing_caller, self.caller = self.caller, Anonymous()
            if isinstance(self.caller, SessionCaller):
                # A tuple, not a set: a set would hash every field of both records, and
                # priming the same record twice (a parent session) changes nothing.
                self.loaders.prime((self.caller.session, self.caller.parent))
                self.loaders.prime_customer(self.caller.customer_id, self.caller.customer)
        except Exception as exc:
            if not is_store_unavailable(exc):
                raise
            self.auth_error = StoreUnavailable(STORE_UNAVAILABLE_MESSAGE)

    def require_caller(self) -> Caller:
        if self.auth_error is not None:
            raise self.auth_error
        return self.caller
