"""What every resolver gets: the store, the thread pool, the caller and fresh loaders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ParamSpec, TypeVar

from dynamo.runner import BlockingCallRunner
from dynamo.store import Store
from resolvers.caller import Anonymous, Caller
from resolvers.errors import ApiError
from resolvers.loaders import Loaders

P = ParamSpec("P")
T = TypeVar("T")


@dataclass
class RequestContext:
    store: Store
    runner: BlockingCallRunner
    admin_token: str | None
    request_id: str
    client_ip: str | None = None
    user_agent: str | None = None
    caller: Caller = field(default_factory=Anonymous)
    auth_error: ApiError | None = None
    """Set when the request carried a token that is no good; raised where a caller matters."""
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.store, self.runner)

    async def call(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a blocking `dynamo/` function in the bounded thread pool."""
        return await self.runner.run(fn, *args, **kwargs)

    def require_caller(self) -> Caller:
        if self.auth_error is not None:
            raise self.auth_error
        return self.caller
