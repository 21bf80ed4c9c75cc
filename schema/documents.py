"""Documents parsed and validated once, then run without parsing or validating again.

A persisted query (an APQ hash or a trusted document) is the same text request after
request. `prepare_document` parses it with the schema's token limit and validates it with the
exact rules a request runs (graphql-core's, the depth and alias limits, introspection's when it
is off), once. A request that carries the resulting `PreparedDocument` in its operation
extensions (under `PREPARED_DOCUMENT`, a Python object no JSON body can forge) skips both steps:

- `PreparedParserCache` uses the prepared `DocumentNode` instead of parsing the text;
- `PreparedValidationCache` skips validation when the document is that prepared node and the
  request's rules are the very rules it was validated with on this schema (validation depends
  on nothing else: the schema, the document and the rules).

What depends on the request still runs each time: the operation type check (GET may not
mutate), variable coercion, `ArgumentGuard` (page sizes, ids, the node limit) and the caller.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import strawberry
from graphql import ASTValidationRule, DocumentNode, GraphQLError, parse
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.schema.schema import validate_document
from strawberry.types import ExecutionContext

PREPARED_DOCUMENT = "sessiongraph.preparedDocument"
"""The operation extensions key under which the HTTP view hands a `PreparedDocument` over."""


@dataclass(frozen=True, slots=True, eq=False)
class PreparedDocument:
    query: str
    document: DocumentNode
    schema: strawberry.Schema
    rules: tuple[type[ASTValidationRule], ...]


@dataclass(frozen=True, slots=True)
class DocumentRules:
    """What a request's parse and validation steps apply on one schema: set by `build_schema`
    from the same values it gives the extensions."""

    max_tokens: int
    validation_rules: tuple[type[ASTValidationRule], ...]


def prepare_document(
    schema: strawberry.Schema, rules: DocumentRules, query: str
) -> PreparedDocument | list[GraphQLError]:
    """Parse and validate `query` as a request on `schema` would; the errors if it fails."""
    try:
        document = parse(query, max_tokens=rules.max_tokens)
    except GraphQLError as error:
        return [error]
    errors = validate_document(schema._schema, document, rules.validation_rules)
    if errors:
        return errors
    return PreparedDocument(query, document, schema, rules.validation_rules)


def prepared_for(
    operation_extensions: Mapping[str, Any] | None, schema: object, query: str | None
) -> PreparedDocument | None:
    """The prepared document a request carries, if it was prepared on `schema` from `query`."""
    prepared = (operation_extensions or {}).get(PREPARED_DOCUMENT)
    if (
        isinstance(prepared, PreparedDocument)
        and prepared.schema is schema
        and prepared.query == query
    ):
        return prepared
    return None


def prepared_document(context: ExecutionContext) -> PreparedDocument | None:
    """The request's prepared document, if it has one for this schema and this text."""
    return prepared_for(context.operation_extensions, context.schema, context.query)


class PreparedParserCache(ParserCache):
    """Strawberry's `ParserCache`, except that a prepared document is not parsed again."""

    def on_parse(self) -> Iterator[None]:
        prepared = prepared_document(self.execution_context)
        if prepared is None:
            yield from super().on_parse()
            return
        self.execution_context.graphql_document = prepared.document
        yield


class PreparedValidationCache(ValidationCache):
    """Strawberry's `ValidationCache`, except that a prepared document validated with this
    request's rules is not validated again."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        prepared = prepared_document(context)
        if (
            prepared is not None
            and context.graphql_document is prepared.document
            and context.validation_rules == prepared.rules
        ):
            context.pre_execution_errors = []
            yield
            return
        yield from super().on_validate()
        lean = getattr(context.schema, "lean", None)
        if lean is not None:  # `schema.ready_documents`: the next copy skips this pipeline
            lean.remember(context)
