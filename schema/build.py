"""Builds the schema with its extensions: caches, limits, error policy."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

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
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType

from resolvers.context import RequestContext
from schema.authenticate import Authenticate
from schema.customer import Customer
from schema.documents import DocumentRules, PreparedParserCache, PreparedValidationCache
from schema.extension_hooks import PreparedExtensionsRunner
from schema.limits import DocumentLimits, query_limits_rule
from schema.mutation import Mutation
from schema.query import Query
from schema.ready_documents import LeanExecution, ReadyDocuments, execute_ready
from schema.scalars import DATETIME
from schema.session import Session
from schema.subscription import OneTransportEach, Subscription

PARSER_CACHE_SIZE = 256
VALIDATION_CACHE_SIZE = 256
READY_DOCUMENTS_SIZE = 256


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
    lean: LeanExecution | None = None
    """Set when every extension has a plain counterpart (`schema.ready_documents`)."""

    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        """A document validated before, over HTTP: `execute_ready`; the rest: Strawberry's."""
        lean = self.lean
        if (
            lean is not None
            and allowed_operation_types is not None
            and isinstance(context_value, RequestContext)
            and context_value.events is None
        ):
            document = lean.document(self, query, operation_extensions)
            if document is not None:
                result = await execute_ready(
                    self,
                    lean,
                    document,
                    variable_values=variable_values,
                    context=context_value,
                    root_value=root_value,
                    operation_name=operation_name,
                    allowed_operation_types=allowed_operation_types,
                    operation_extensions=operation_extensions,
                )
                if result is not None:
                    return result
        return await super().execute(
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            allowed_operation_types,
            operation_extensions,
        )

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
    observers = [getattr(extension, "observe_operation", None) for extension in extra_extensions]
    if not schema.directives and all(callable(o) for o in observers):
        schema.lean = LeanExecution(
            rules=schema.document_rules,
            max_nodes=limits.max_nodes,
            observers=[o for o in observers if o is not None],
            documents=ReadyDocuments(READY_DOCUMENTS_SIZE),
        )
    return schema
