"""What subscriptions read the table's changes from: the server's per-process event hub.

Declared here, implemented in `server.event_hub`, so that `resolvers/` never imports the
layer above it.
"""

from __future__ import annotations

from collections.abc import Collection
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from dynamo.streams import Change, Key


class ChangeStream(Protocol):
    async def next(self, within: float | None = None) -> Change | None:
        """The next change to a watched key or customer; None when `within` seconds passed first."""
        ...

    def drain(self) -> list[Change]:
        """The changes queued now, without waiting (taken together with the one before)."""
        ...


class ChangeFeed(Protocol):
    def watch(
        self, keys: Collection[Key], customers: Collection[str] = ()
    ) -> AbstractAsyncContextManager[ChangeStream]:
        """Changes to `keys` and to any item of `customers`, from the moment this is entered."""
        ...

    def hold_connection(self, session_id: str) -> bool:
        """Count a WebSocket connection of a session; False when it has too many already."""
        ...

    def release_connection(self, session_id: str) -> None: ...

    def hold_subscription(self, session_id: str) -> bool:
        """Count a subscription of a session; False when it runs too many in this process."""
        ...

    def release_subscription(self, session_id: str) -> None: ...
