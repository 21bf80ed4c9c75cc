"""Query limits that run before anything executes, in time linear in the document.

Strawberry's `QueryDepthLimiter` and `MaxAliasesLimiter` expand every fragment spread anew,
so a "fragment bomb" (each fragment spreading the previous one twice) takes exponential time
in validation, on the event loop. Here each fragment's depth and alias count are computed
once and memoized; a cycle counts as nothing (graphql-core's NoFragmentCycles reports it).

`check_arguments` then refuses page sizes over the limit and ids that cannot be keys, from
literals and variables alike, before the caller is looked up: a refused request costs no
DynamoDB call.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    value_from_ast_untyped,
)
from strawberry.extensions import SchemaExtension

from dynamo.errors import InvalidIdError
from dynamo.keys import validate_id
from dynamo.limits import MAX_PAGE_SIZE
from resolvers.errors import BadUserInput

ID_ARGUMENTS = {
    "customerId": "customerId",
    "sessionId": "sessionId",
    "childSessionId": "childSessionId",
}
PAGE_SIZE_ARGUMENT = "first"
CONNECTION_FIELDS = frozenset({"sessions", "childSessions"})
DEFAULT_PAGE_SIZE = 20


@dataclass(frozen=True, slots=True)
class Shape:
    depth: int = 0
    aliases: int = 0


@dataclass
class _ShapeOf:
    fragments: Mapping[str, FragmentDefinitionNode]
    memo: dict[str, Shape] = field(default_factory=dict)
    visiting: set[str] = field(default_factory=set)

    def selection_set(self, node: SelectionSetNode | None) -> Shape:
        depth, aliases = 0, 0
        for selection in node.selections if node else ():
            if isinstance(selection, FieldNode):
                if selection.name.value.startswith("__"):
                    continue  # introspection: bounded by the schema, turned off in production
                inner = self.selection_set(selection.selection_set)
                depth = max(depth, inner.depth + 1)
                aliases += inner.aliases + (1 if selection.alias else 0)
            elif isinstance(selection, InlineFragmentNode):
                inner = self.selection_set(selection.selection_set)
                depth, aliases = max(depth, inner.depth), aliases + inner.aliases
            elif isinstance(selection, FragmentSpreadNode):
                inner = self.fragment(selection.name.value)
                depth, aliases = max(depth, inner.depth), aliases + inner.aliases
        return Shape(depth, aliases)

    def fragment(self, name: str) -> Shape:
        if name in self.memo:
            return self.memo[name]
        definition = self.fragments.get(name)
        if definition is None or name in self.visiting:
            return Shape()
        self.visiting.add(name)
        shape = self.selection_set(definition.selection_set)
        self.visiting.discard(name)
        self.memo[name] = shape
        return shape


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def query_limits_rule(max_depth: int, max_aliases: int) -> type[ValidationRule]:
    class QueryLimitsRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            shapes = _ShapeOf(_fragments(context.document))
            for definition in context.document.definitions:
                if not isinstance(definition, OperationDefinitionNode):
                    continue
                shape = shapes.selection_set(definition.selection_set)
                depth = shape.depth - 1  # root fields are depth 0, as in graphql-depth-limit
                if depth > max_depth:
                    context.report_error(
                        _limit_error(
                            f"the query is {depth} levels deep; the depth limit is "
                            f"{max_depth} (SESSIONGRAPH_MAX_DEPTH)",
                            definition,
                        )
                    )
                if shape.aliases > max_aliases:
                    context.report_error(
                        _limit_error(
                            f"the query uses {shape.aliases} aliases (fragments included); the "
                            f"alias limit is {max_aliases} (SESSIONGRAPH_MAX_ALIASES)",
                            definition,
                        )
                    )

    return QueryLimitsRule


def _limit_error(message: str, node: OperationDefinitionNode) -> GraphQLError:
    return GraphQLError(message, node, extensions={"code": "BAD_USER_INPUT"})


def check_arguments(
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    max_nodes: int | None = None,
) -> None:
    """Refuse `first` out of range and ids that cannot be keys, wherever they appear in the
    operation that will run (literals or variables), and a query that could return more than
    `max_nodes` sessions (the product of the page sizes along each path), with
    `BadUserInput`."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [
        op
        for op in operations
        if operation_name is None or (op.name is not None and op.name.value == operation_name)
    ]
    if len(chosen) != 1:
        return  # graphql-core reports the missing or ambiguous operation
    operation = chosen[0]
    values = dict(variables or {})
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        if name not in values and definition.default_value is not None:
            values[name] = value_from_ast_untyped(definition.default_value)
    fragments = _fragments(document)
    seen: set[str] = set()

    def visit(node: SelectionSetNode | None) -> None:
        for selection in node.selections if node else ():
            if isinstance(selection, FieldNode):
                for argument in selection.arguments or ():
                    _check(argument.name.value, value_from_ast_untyped(argument.value, values))
                visit(selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                visit(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name not in seen and name in fragments:
                    seen.add(name)
                    visit(fragments[name].selection_set)

    visit(operation.selection_set)
    if max_nodes is not None:
        nodes = _NodeCount(fragments, values).selection_set(operation.selection_set)
        if nodes > max_nodes:
            raise BadUserInput(
                f"the query could return up to {nodes} sessions; the limit is {max_nodes} "
                "(SESSIONGRAPH_MAX_NODES): ask for smaller pages"
            )


@dataclass
class _NodeCount:
    """How many objects a query can return: each connection multiplies what it holds by its
    page size (as GitHub's node limit counts). Fragments are counted once (memoized)."""

    fragments: Mapping[str, FragmentDefinitionNode]
    variables: dict[str, Any]
    memo: dict[str, int] = field(default_factory=dict)
    visiting: set[str] = field(default_factory=set)

    def selection_set(self, node: SelectionSetNode | None) -> int:
        total = 0
        for selection in node.selections if node else ():
            if isinstance(selection, FieldNode):
                inner = self.selection_set(selection.selection_set)
                if selection.name.value in CONNECTION_FIELDS:
                    size = self._page_size(selection)
                    total += size * (1 + inner)
                else:
                    total += inner
            elif isinstance(selection, InlineFragmentNode):
                total += self.selection_set(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragment(selection.name.value)
        return total

    def fragment(self, name: str) -> int:
        if name in self.memo:
            return self.memo[name]
        definition = self.fragments.get(name)
        if definition is None or name in self.visiting:
            return 0
        self.visiting.add(name)
        count = self.selection_set(definition.selection_set)
        self.visiting.discard(name)
        self.memo[name] = count
        return count

    def _page_size(self, node: FieldNode) -> int:
        for argument in node.arguments or ():
            if argument.name.value == PAGE_SIZE_ARGUMENT:
                value = value_from_ast_untyped(argument.value, self.variables)
                return value if isinstance(value, int) else DEFAULT_PAGE_SIZE
        return DEFAULT_PAGE_SIZE


def _check(name: str, value: object) -> None:
    if name == PAGE_SIZE_ARGUMENT and isinstance(value, int) and not 0 <= value <= MAX_PAGE_SIZE:
        raise BadUserInput(
            f"first must be between 0 and {MAX_PAGE_SIZE}, got {value} (the page size limit)"
        )
    what = ID_ARGUMENTS.get(name)
    if what is not None and isinstance(value, str):
        try:
            validate_id(value, what)
        except InvalidIdError as exc:
            raise BadUserInput(str(exc)) from exc


class ArgumentGuard(SchemaExtension):
    """Runs `check_arguments` after validation, before the caller is looked up."""

    def __init__(self, *, max_nodes: int | None = None) -> None:
        self.max_nodes = max_nodes

    def check(self) -> None:
        context = self.execution_context
        if context.graphql_document is not None:
            check_arguments(
                context.graphql_document,
                context.operation_name,
                context.variables,
                self.max_nodes,
            )

    def on_execute(self) -> Iterator[None]:
        self.check()
        yield


class DocumentLimits(SchemaExtension):
    """The token limit for parsing and the query limit rules for validation, set in one hook.

    What Strawberry's `MaxTokensLimiter` and `AddValidationRules` do, together: Strawberry
    builds a context manager for every hook of every extension on every request, so two
    extensions that only set options cost twice what one does."""

    def __init__(self, *, max_tokens: int, rules: Iterable[type[ASTValidationRule]]) -> None:
        self.max_tokens = max_tokens
        self.rules = tuple(rules)

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = self.max_tokens
        context.validation_rules = (*context.validation_rules, *self.rules)
        yield
