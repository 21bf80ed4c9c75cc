"""Builds the schema with its extensions: caches, limits, error policy."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

import strawberry
from graphql import (
    ASTValidationRule,
    GraphQLError,
    NoSchemaIntrospectionCustomRule,
    specified_rules,
)
from strawberry.extensions import SchemaExtension
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.name_converter import NameConverter
from strawberry.types import ExecutionContext

from schema.authenticate import Authenticate
from schema.customer import Customer
from schema.documents import DocumentRules, PreparedParserCache, PreparedValidationCache
from schema.extension_hooks import PreparedExtensionsRunner
from schema.limits import DocumentLimits, query_limits_rule
from schema.mutation import Mutation
from schema.query import Query
from schema.scalars import DATETIME
from schema.session import Session
from schema.subscription import OneTransportEach, Subscription

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
    document_rules: DocumentRules
    """The token limit and validation rules every request gets (for `schema.documents`)."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Logging is `schema.errors.ErrorPolicy`'s, which the view applies to every result:
        it knows which errors are expected and the request id."""

    def create_extensions_runner(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension]
    ) -> SchemaExtensionsRunner:
        return PreparedExtensionsRunner(execution_context=execution_context, extensions=extensions)


class CachedNameConverter(NameConverter):
    """Strawberry converts each argument's Python name to camelCase on every call of its
    field; the names are few and fixed, so each is converted once."""

    def __init__(self) -> None:
        super().__init__(auto_camel_case=True)
        self._converted: dict[str, str] = {}

    def apply_naming_config(self, name: str) -> str:
        converted = self._converted.get(name)
        if converted is None:
            converted = self._converted[name] = super().apply_naming_config(name)
        return converted


def build_schema(
    limits: QueryLimits | None = None,
    extra_extensions: Sequence[Callable[[], SchemaExtension]] = (),
) -> SessionGraphSchema:
    """`extra_extensions` run after the project's own (the server's metrics and tracing)."""
    limits = limits or QueryLimits()
    added_rules: list[type[ASTValidationRule]] = [
        query_limits_rule(max_depth=limits.max_depth, max_aliases=limits.max_aliases)
    ]
    if not limits.introspection:
        added_rules.insert(0, NoSchemaIntrospectionCustomRule)
    extensions: list[Callable[[], SchemaExtension]] = [
        partial(PreparedParserCache, maxsize=PARSER_CACHE_SIZE),
        partial(PreparedValidationCache, maxsize=VALIDATION_CACHE_SIZE),
        partial(DocumentLimits, max_tokens=limits.max_tokens, rules=added_rules),
        partial(Authenticate, max_nodes=limits.max_nodes),
        OneTransportEach,
    ]
    extensions.extend(extra_extensions)
    schema = SessionGraphSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Session, Customer],
        extensions=extensions,
        config=StrawberryConfig(
            scalar_map={datetime: DATETIME}, name_converter=CachedNameConverter()
        ),
    )
    schema.document_rules = DocumentRules(
        max_tokens=limits.max_tokens,
        validation_rules=(*specified_rules, *added_rules),
    )
    return schema
