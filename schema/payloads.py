"""Mutation payloads."""

from __future__ import annotations

import strawberry

from schema.session import Session


@strawberry.type
class LoginPayload:
    access_token: str = strawberry.field(
        description="The bearer token: shown once, never stored by the server."
    )
    session: Session


@strawberry.type
class LogoutPayload:
    ended_session_ids: list[str]
