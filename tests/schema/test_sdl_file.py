"""`schema.graphql` at the repository root is what `sessiongraph schema` prints."""

from __future__ import annotations

from pathlib import Path

from server.cli import main

SDL_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_schema_graphql_is_the_current_schema(capsys):
    assert main(["schema"]) == 0
    printed = capsys.readouterr().out
    committed = SDL_FILE.read_text(encoding="utf-8") if SDL_FILE.is_file() else ""
    assert committed == printed, (
        "schema.graphql differs from `sessiongraph schema`: the schema changed. Run "
        "`make schema` and commit schema.graphql (frontend tools such as GraphQL Codegen read it)"
    )
