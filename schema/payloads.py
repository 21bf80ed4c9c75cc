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
        description=(
            "Ids of the sessions whose items this call deleted. `logout`: the session and its "
            "children. `logoutAll` and `changePassword` end every session of the customer at "
            "once (the caller's own, for `changePassword`, lives on), but list at most one page "
            "(SESSIONGRAPH_CLEANUP_IN_REQUEST, default 100) of parent sessions deleted before "
            "answering; their children and the rest are deleted in the background."
        )
    )


@strawberry.type(
    description=(
        "A cookie login (`loginWithCookie`): the token is in the HttpOnly session cookie, so "
        "this payload has none."
    )
)
class CookieLoginPayload:
    session: Session = strawberry.field(description="The session the cookie holds.")
