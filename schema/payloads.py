"""Mutation payloads."""

from __future__ import annotations

import strawberry

from schema.session import Session


@strawberry.type(
    description="A new session and its token: what `login` and `createChildSession` return."
)
class LoginPayload:
    access_token: str = strawberry.field(
        description=(
            "The bearer token: send it as `Authorization: Bearer <accessToken>`. Shown once; the "
            "server keeps only a hash of its secret."
        )
    )
    session: Session = strawberry.field(description="The session the token belongs to.")


@strawberry.type(description="What a logout ended.")
class LogoutPayload:
    ended_session_ids: list[str] = strawberry.field(
        description="The ids of the sessions this call ended: parent sessions and their children."
    )


@strawberry.type(
    description=(
        "A cookie login (`loginWithCookie`): the token is in the HttpOnly session cookie, so "
        "this payload has none."
    )
)
class CookieLoginPayload:
    session: Session = strawberry.field(description="The session the cookie holds.")
