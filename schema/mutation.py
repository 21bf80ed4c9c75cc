"""`Mutation`: each field hands over to `resolvers.mutations`."""

from __future__ import annotations

import strawberry

from resolvers import mutations
from schema.context import Info
from schema.customer import Customer
from schema.payloads import LoginPayload, LogoutPayload
from schema.session import Session


def _payload(login: mutations.Login) -> LoginPayload:
    return LoginPayload(access_token=login.access_token, session=Session.of(login.session))


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def register_customer(self, info: Info, customer_id: str, password: str) -> Customer:
        record = await mutations.register(info.context, customer_id, password)
        return Customer.of(record.customer_id)

    @strawberry.mutation(description="Password login, or passwordless for the admin (SSO).")
    async def login(
        self, info: Info, customer_id: str, password: str | None = None
    ) -> LoginPayload:
        return _payload(await mutations.login(info.context, customer_id, password))

    @strawberry.mutation(description="A child session of the bearer's (or the given) session.")
    async def create_child_session(
        self, info: Info, client: str, session_id: str | None = None
    ) -> LoginPayload:
        return _payload(await mutations.new_child_session(info.context, client, session_id))

    @strawberry.mutation(description="End a session (default: the bearer's) and its children.")
    async def logout(self, info: Info, session_id: str | None = None) -> LogoutPayload:
        return LogoutPayload(ended_session_ids=await mutations.logout(info.context, session_id))

    @strawberry.mutation(description="End every session of a customer (default: the bearer's).")
    async def logout_all(self, info: Info, customer_id: str | None = None) -> LogoutPayload:
        ended = await mutations.logout_all(info.context, customer_id)
        return LogoutPayload(ended_session_ids=ended)

    @strawberry.mutation(
        description="Change the bearer's password; every other session of the customer ends."
    )
    async def change_password(
        self, info: Info, current_password: str, new_password: str
    ) -> LogoutPayload:
        ended = await mutations.change_password(info.context, current_password, new_password)
        return LogoutPayload(ended_session_ids=ended)
