"""`Mutation`: each field hands over to `resolvers.mutations`."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers import mutations, session_cookie
from schema.context import Info
from schema.customer import Customer
from schema.payloads import CookieLoginPayload, LoginPayload, LogoutPayload
from schema.session import Session

PASSWORD_RULE = "8 to 1024 characters"
ID_RULE = "1 to 128 characters, with no `#` and no control characters"


def _payload(login: mutations.Login) -> LoginPayload:
    return LoginPayload(access_token=login.access_token, session=Session.of(login.session))


@strawberry.type(
    description=(
        "Log in and out. Anonymous callers may `registerCustomer` and `login` with a password; "
        "the rest needs a session's token (or the admin token) as `Authorization: Bearer`."
    )
)
class Mutation:
    @strawberry.mutation(
        description=(
            "Create a customer with a password (anonymous callers may). Never takes over an "
            "existing id: one that has a customer or sessions is a CONFLICT. Then `login`."
        )
    )
    async def register_customer(
        self,
        info: Info,
        customer_id: Annotated[
            str, strawberry.argument(description=f"The new customer's id: {ID_RULE}.")
        ],
        password: Annotated[
            str,
            strawberry.argument(
                description=f"The password, {PASSWORD_RULE}; only an argon2id hash is stored."
            ),
        ],
    ) -> Customer:
        record = await mutations.register(info.context, customer_id, password)
        return Customer.of(record.customer_id)

    @strawberry.mutation(
        description=(
            "Log a customer in: a new parent session and its token. With a password, anyone; "
            "without, only the admin (an SSO platform that has already verified the person). "
            "Repeated failures pause the customer's password logins for a while."
        )
    )
    async def login(
        self,
        info: Info,
        customer_id: Annotated[str, strawberry.argument(description="The customer's id.")],
        password: Annotated[
            str | None,
            strawberry.argument(
                description=(
                    "The customer's password; omitted only with the admin token. The admin's "
                    "passwordless (SSO) login of a customerId that was never registered "
                    "creates that customer, without a password."
                )
            ),
        ] = None,
    ) -> LoginPayload:
        return _payload(await mutations.login(info.context, customer_id, password))

    @strawberry.mutation(
        description=(
            "Log in from a browser (cookie mode, SESSIONGRAPH_COOKIE_MODE): a new parent "
            "session whose token goes into an HttpOnly cookie and is not returned. Only a "
            "same-origin (or allow-listed) POST with a JSON body may; FORBIDDEN otherwise."
        )
    )
    async def login_with_cookie(
        self,
        info: Info,
        customer_id: Annotated[str, strawberry.argument(description="The customer's id.")],
        password: Annotated[str, strawberry.argument(description="The customer's password.")],
    ) -> CookieLoginPayload:
        record = await session_cookie.login_with_cookie(info.context, customer_id, password)
        return CookieLoginPayload(session=Session.of(record))

    @strawberry.mutation(
        description=(
            "A child session for another app, made from a parent session: the bearer's own "
            "(a parent token), or the one named by `sessionId`. It ends when its parent ends."
        )
    )
    async def create_child_session(
        self,
        info: Info,
        client: Annotated[
            str,
            strawberry.argument(
                description="The app the child session is for (1 to 128 characters)."
            ),
        ],
        session_id: Annotated[
            str | None,
            strawberry.argument(
                description=(
                    "The parent session (default: the bearer's). A parent token may name any parent "
                    "session of its customer; the admin must name one."
                )
            ),
        ] = None,
    ) -> LoginPayload:
        return _payload(await mutations.new_child_session(info.context, client, session_id))

    @strawberry.mutation(
        description=(
            "End a session (default: the bearer's); ending a parent ends its children. A parent "
            "token may end any session of its customer, a child token only itself."
        )
    )
    async def logout(
        self,
        info: Info,
        session_id: Annotated[
            str | None,
            strawberry.argument(
                description="The session to end (default: the bearer's; the admin must name one)."
            ),
        ] = None,
    ) -> LogoutPayload:
        ended = await mutations.logout(info.context, session_id)
        session_cookie.sessions_ended(info.context, ended)
        return LogoutPayload(ended_session_ids=ended)

    @strawberry.mutation(
        description=(
            "End every session of a customer (default: the bearer's), those not yet listed "
            "included. A parent token ends its own customer's; the admin any customer's."
        )
    )
    async def logout_all(
        self,
        info: Info,
        customer_id: Annotated[
            str | None,
            strawberry.argument(
                description="The customer (default: the bearer's; the admin must name one)."
            ),
        ] = None,
    ) -> LogoutPayload:
        ended = await mutations.logout_all(info.context, customer_id)
        session_cookie.customer_sessions_ended(info.context, customer_id)
        return LogoutPayload(ended_session_ids=ended)

    @strawberry.mutation(
        description=(
            "Change the bearer's password (a parent session's token); every other session of "
            "the customer ends, the caller's own children included."
        )
    )
    async def change_password(
        self,
        info: Info,
        current_password: Annotated[
            str, strawberry.argument(description="The password in use now.")
        ],
        new_password: Annotated[
            str, strawberry.argument(description=f"The new password, {PASSWORD_RULE}.")
        ],
    ) -> LogoutPayload:
        ended = await mutations.change_password(info.context, current_password, new_password)
        return LogoutPayload(ended_session_ids=ended)
