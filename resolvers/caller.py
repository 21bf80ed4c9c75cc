"""Who is calling: anonymous, a session (parent or child), or the admin."""

from __future__ import annotations

from dataclasses import dataclass

from dynamo.records import ChildSession, Customer, ParentSession


@dataclass(frozen=True, slots=True)
class Anonymous:
    pass


@dataclass(frozen=True, slots=True)
class Admin:
    pass


@dataclass(frozen=True, slots=True)
class SessionCaller:
    """A bearer of a session token. `parent` is the session itself for a parent session."""

    session: ParentSession | ChildSession
    parent: ParentSession
    customer_generation: int = 0
    """The customer's `session_generation`, read with the token (changePassword bumps it)."""
    customer: Customer | None = None
    """The customer item read with the token (strongly consistent): reads reuse it to tell
    revoked sessions apart (`resolvers.liveness`) without reading it again."""
    closing: bool = False
    """The parent is `closing` (a logout cut short): the token may only call `logout`."""

    @property
    def customer_id(self) -> str:
        return self.parent.customer_id

    @property
    def is_child(self) -> bool:
        return isinstance(self.session, ChildSession)


Caller = Anonymous | Admin | SessionCaller
