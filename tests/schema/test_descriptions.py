"""The schema describes itself: every type, field, argument and enum value has a description.

The walk goes over graphql-core's `GraphQLSchema` directly (no introspection query), so it
also covers what introspection may hide, and lists every gap at once.
"""

from __future__ import annotations

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
)

from schema.build import build_schema


def _graphql_schema() -> GraphQLSchema:
    graphql_schema: GraphQLSchema = build_schema()._schema
    return graphql_schema


def missing_descriptions(schema: GraphQLSchema) -> list[str]:
    """Every type, field, argument, input field, enum value and directive without a
    description (or with a blank one), as `Type.field(argument:)` paths."""
    missing: list[str] = []

    def check(description: str | None, path: str) -> None:
        if not (description or "").strip():
            missing.append(path)

    for name, named in sorted(schema.type_map.items()):
        if name.startswith("__"):
            continue  # introspection's own types: graphql-core's, described by the spec
        _check_type(named, check)
    for directive in schema.directives:
        check(directive.description, f"@{directive.name}")
        for arg_name, arg in directive.args.items():
            check(arg.description, f"@{directive.name}({arg_name}:)")
    return missing


def _check_type(named: GraphQLNamedType, check) -> None:  # type: ignore[no-untyped-def]
    check(named.description, named.name)
    if isinstance(named, (GraphQLObjectType, GraphQLInterfaceType)):
        for field_name, field in named.fields.items():
            check(field.description, f"{named.name}.{field_name}")
            for arg_name, arg in field.args.items():
                check(arg.description, f"{named.name}.{field_name}({arg_name}:)")
    elif isinstance(named, GraphQLInputObjectType):
        for field_name, input_field in named.fields.items():
            check(input_field.description, f"{named.name}.{field_name}")
    elif isinstance(named, GraphQLEnumType):
        for value_name, value in named.values.items():
            check(value.description, f"{named.name}.{value_name}")
    elif isinstance(named, GraphQLUnionType):
        pass  # the union's own description is checked above


def test_every_type_field_argument_and_enum_value_is_described() -> None:
    missing = missing_descriptions(_graphql_schema())
    assert missing == [], "no description on:\n  " + "\n  ".join(missing)


def test_the_walk_finds_what_is_missing() -> None:
    """The checker itself: a schema with gaps of every kind reports each of them."""
    from graphql import build_schema as build_sdl

    gappy = build_sdl('''
        """described"""
        type Query {
          """described"""
          a(x: Int): Int
          b: E
          c(input: I): Int
        }
        enum E { ONE """described""" TWO }
        input I { f: Int }
        union U = Query
        scalar S
    ''')
    assert set(missing_descriptions(gappy)) == {
        "Query.a(x:)",
        "Query.b",
        "Query.c",
        "Query.c(input:)",
        "E",
        "E.ONE",
        "I",
        "I.f",
        "U",
        "S",
    }


def test_the_walk_covers_every_named_type_of_the_api() -> None:
    names = {n for n in _graphql_schema().type_map if not n.startswith("__")}
    assert {
        "Query",
        "Mutation",
        "Node",
        "Customer",
        "Session",
        "SessionState",
        "SessionConnection",
        "SessionEdge",
        "PageInfo",
        "LoginPayload",
        "LogoutPayload",
        "DateTime",
    } <= names
