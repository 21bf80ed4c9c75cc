"""Resolves the caller after parsing and validation, before any field runs."""

from __future__ import annotations

from collections.abc import AsyncIterator

from resolvers.context import RequestContext
from resolvers.session_cookie import forget_refused_cookie
from schema.limits import ArgumentGuard


class Authenticate(ArgumentGuard):
    """`ArgumentGuard`'s checks, then the caller, in one hook: a refused argument costs no
    DynamoDB call, and Strawberry builds one context manager per hook and request, not two."""

    async def on_execute(self) -> AsyncIterator[None]:  # type: ignore[override]
        self.check()
        context = self.execution_context.context
        if isinstance(context, RequestContext):
            await context.authenticate()
            forget_refused_cookie(context)
        yield
