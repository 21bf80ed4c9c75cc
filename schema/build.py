"""Builds the schema with its extensions: caches, limits, error policy."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from schema.authenticate import Authenticate
from schema.customer import Customer
from schema.limits import ArgumentGuard, query_limits_rule
from schema.mutation import Mutation
from schema.query import Query
from schema.scalars import DATETIME
from schema.session import Session

PARSER_CACHE_SIZE = 256
VALIDATION_CACHE_SIZE = 256


@dataclass(frozen=True, slots=True)
class QueryLimits:
    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 2000
    max_nodes: int = 10_000
    introspection: bool = True


class SessionGraphSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Logging is `schema.errors.ErrorPolicy`'s, which the view applies to every result:
        it knows which errors are expected and the request id."""


def build_schema(limits: QueryLimits | None = None) -> strawberry.Schema:
    limits = limits or QueryLimits()
    extensions: list[Callable[[], SchemaExtension]] = [
        partial(ParserCache, maxsize=PARSER_CACHE_SIZE),
        partial(ValidationCache, maxsize=VALIDATION_CACHE_SIZE),
        partial(MaxTokensLimiter, max_token_count=limits.max_tokens),
        partial(
            AddValidationRules,
            [query_limits_rule(max_depth=limits.max_depth, max_aliases=limits.max_aliases)],
        ),
        partial(ArgumentGuard, max_nodes=limits.max_nodes),
        Authenticate,
    ]
    if not limits.introspection:
        extensions.insert(1, DisableIntrospection)
    return SessionGraphSchema(
        query=Query,
        mutation=Mutation,
        types=[Session, Customer],
        extensions=extensions,
        config=StrawberryConfig(scalar_map={datetime: DATETIME}),
    )
