"""A document this schema has parsed and validated before, executed without the extension runner.

Strawberry runs every request through its extension runner: an instance of each extension, a
context manager per hook and stage, an `ExecutionContext`. For a document it has seen before
(whose parse and validation are cached anyway) that costs more CPU than graphql-core's
execution of a small query (bench/README.md). `SessionGraphSchema.execute` sends such a request
here, where the project's own hooks run as plain calls, in the order and with the outcome the
extension runner gives them:

1. the operation and its type: Strawberry's errors when the document has no operation of that
   name, or one the transport does not allow (`CannotGetOperationTypeError`,
   `InvalidOperationTypeError`, which the view answers 400);
2. `ArgumentGuard`'s checks, then the caller (`Authenticate`), then a refused cookie is
   forgotten; an error here answers as it does from the hook: no data, that one error
   (`PreExecutionError`);
3. the operation observers (the server's operation labels, `OperationLabels.observe_operation`);
4. graphql-core's execution, called as Strawberry calls it.

Everything else takes Strawberry's path: a document not seen before, or one that failed to
parse or validate (its cached errors come from there), a subscription, a WebSocket, a schema
with an extension that has no plain counterpart (tracing). `ReadyDocuments` learns a document
only once Strawberry's path validated it with the schema's own rules (`remember`), or from a
persisted document prepared with them (`schema.documents`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import DocumentNode, GraphQLError, OperationDefinitionNode
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType
from strawberry.utils.await_maybe import await_maybe
from strawberry.utils.operation import get_first_operation, get_operation_type

from resolvers.context import RequestContext
from resolvers.session_cookie import forget_refused_cookie
from schema.documents import DocumentRules, prepared_for
from schema.limits import check_arguments

OperationObserver = Callable[[str, str | None], None]
"""Told the operation's type and name once it is about to execute."""

LEAN_TYPES = frozenset({OperationType.QUERY, OperationType.MUTATION})


class ReadyDocuments:
    """Documents by text that parsed and validated without error under the schema's rules.
    Least recently used first out; touched on the event loop only."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._documents: OrderedDict[str, DocumentNode] = OrderedDict()

    def get(self, query: str) -> DocumentNode | None:
        document = self._documents.get(query)
        if document is not None:
            self._documents.move_to_end(query)
        return document

    def remember(self, query: str, document: DocumentNode) -> None:
        self._documents[query] = document
        self._documents.move_to_end(query)
        while len(self._documents) > self.maxsize:
            self._documents.popitem(last=False)


@dataclass(frozen=True, slots=True)
class LeanExecution:
    """What the plain path needs of the schema it runs on."""

    rules: DocumentRules
    max_nodes: int | None
    observers: Sequence[OperationObserver]
    documents: ReadyDocuments

    def remember(self, context: ExecutionContext) -> None:
        """After Strawberry validated `context`'s document: keep it if it passed under the
        schema's own token limit and rules (a request cannot change them, but say so)."""
        if (
            context.query
            and context.graphql_document is not None
            and not context.pre_execution_errors
            and context.validation_rules == self.rules.validation_rules
            and context.parse_options.get("max_tokens") == self.rules.max_tokens
        ):
            self.documents.remember(context.query, context.graphql_document)

    def document(
        self, schema: Any, query: str | None, operation_extensions: Mapping[str, Any] | None
    ) -> DocumentNode | None:
        """The request's document if it may take the plain path."""
        if not query:
            return None
        prepared = prepared_for(operation_extensions, schema, query)
        if prepared is not None:
            return prepared.document if prepared.rules == self.rules.validation_rules else None
        return self.documents.get(query)


def operation_name_of(document: DocumentNode, provided: str | None) -> str | None:
    """The operation's name as Strawberry's `ExecutionContext.operation_name` gives it."""
    if provided is not None:
        return provided
    first: OperationDefinitionNode | None = get_first_operation(document)
    return first.name.value if first is not None and first.name is not None else None


async def execute_ready(
    schema: Any,
    lean: LeanExecution,
    document: DocumentNode,
    *,
    variable_values: dict[str, Any] | None,
    context: RequestContext,
    root_value: Any,
    operation_name: str | None,
    allowed_operation_types: Iterable[OperationType],
    operation_extensions: dict[str, Any] | None,
) -> ExecutionResult | None:
    """The request's result, or None before doing anything when it must take Strawberry's
    path (a subscription)."""
    name = operation_name_of(document, operation_name)
    try:
        operation_type = get_operation_type(document, name)
    except RuntimeError as exc:
        raise CannotGetOperationTypeError(name) from exc
    if operation_type not in LEAN_TYPES:
        return None
    if operation_type not in allowed_operation_types:
        raise InvalidOperationTypeError(operation_type)
    try:
        check_arguments(document, name, variable_values, lean.max_nodes)
        await context.authenticate()
        forget_refused_cookie(context)
        for observe in lean.observers:
            observe(operation_type.value, name)
        result = await await_maybe(
            schema._get_execute_function()(
                schema._schema,
                document,
                root_value=root_value,
                variable_values=variable_values,
                operation_name=name,  # Strawberry passes the effective name too
                context_value=context,
                is_awaitable=optimized_is_awaitable,
                executor_class=schema.execution_context_class,
                operation_extensions=operation_extensions,
            )
        )
    except Exception as exc:
        refused = (
            exc if isinstance(exc, GraphQLError) else GraphQLError(str(exc), original_error=exc)
        )
        schema._process_errors([refused], None)
        return PreExecutionError(data=None, errors=[refused])
    if result.errors:
        schema._process_errors(result.errors, None)
    return ExecutionResult(data=result.data, errors=result.errors)
