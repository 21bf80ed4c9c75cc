"""Resolves the caller after parsing and validation, before any field runs."""

from __future__ import annotations

from collections.abc import AsyncIterator

from strawberry.extensions import SchemaExtension

from resolvers.context import RequestContext
from resolvers.session_cookie import forget_refused_cookie


class Authenticate(SchemaExtension):
    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        if isinstance(context, RequestContext):
            await context.authenticate()
            forget_refused_cookie(context)
        yield
