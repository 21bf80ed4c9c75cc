"""`RequestContext.login_outcome`: the seam the metrics read, set by every password check
(login, changePassword) to success, bad_credentials, locked or rate_limited."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import pytest

from dynamo.runner import BlockingCallRunner
from resolvers import mutations
from resolvers.context import RequestContext
from resolvers.errors import ApiError
from tests.security.helpers import PASSWORD, moto_only
from tests.support.api import ADMIN_TOKEN

pytestmark = moto_only


@pytest.fixture
def outcome(store):
    runner = BlockingCallRunner(2)

    def run(action: Callable[[RequestContext], Awaitable[object]]) -> str | None:
        ctx = RequestContext(store=store, runner=runner, admin_token=ADMIN_TOKEN, request_id="t")

        async def go() -> None:
            with contextlib.suppress(ApiError):
                await action(ctx)

        asyncio.run(go())
        return ctx.login_outcome

    yield run
    runner.close()


def test_each_way_a_password_check_ends_is_told(outcome, hasher, argon2_pool):
    pool = argon2_pool(2, 0)
    assert outcome(lambda ctx: mutations.register(ctx, "alice", PASSWORD)) is None
    assert outcome(lambda ctx: mutations.login(ctx, "alice", PASSWORD)) == "success"
    assert outcome(lambda ctx: mutations.login(ctx, "nobody", PASSWORD)) == "bad_credentials"
    assert outcome(lambda ctx: mutations.login(ctx, "alice", "p" * 2000)) == "bad_credentials"
    for _attempt in range(5):
        assert outcome(lambda ctx: mutations.login(ctx, "alice", "guess")) == "bad_credentials"
    assert outcome(lambda ctx: mutations.login(ctx, "alice", PASSWORD)) == "locked"
    with pool.admission(), pool.admission():  # the pool is full
        assert outcome(lambda ctx: mutations.login(ctx, "alice", PASSWORD)) == "rate_limited"
        assert outcome(lambda ctx: mutations._check_password(ctx, "bob", PASSWORD)) == (
            "rate_limited"
        )


def test_changepassword_checks_report_too(outcome, hasher, argon2_pool):
    argon2_pool(2, 2)
    outcome(lambda ctx: mutations.register(ctx, "bob", PASSWORD))
    assert outcome(lambda ctx: mutations._check_password(ctx, "bob", "wrong one")) == (
        "bad_credentials"
    )
    assert outcome(lambda ctx: mutations._check_password(ctx, "bob", PASSWORD)) == "success"


def test_an_sso_login_checks_no_password(outcome, hasher):
    async def sso(ctx: RequestContext) -> object:
        await ctx.authenticate()
        return await mutations.login(ctx, "carol", None)

    def with_admin(ctx: RequestContext) -> Awaitable[object]:
        ctx.authorization = f"Bearer {ADMIN_TOKEN}"
        return sso(ctx)

    assert outcome(with_admin) is None
