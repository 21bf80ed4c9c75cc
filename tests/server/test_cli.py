"""The `sessiongraph` commands that do not serve: schema, create-table, load."""

from __future__ import annotations

import pytest

from server.cli import main
from tests.conftest import SAMPLE_MODEL


def test_schema_prints_the_contract(capsys):
    from graphql import build_schema as parse_sdl

    assert main(["schema"]) == 0
    sdl = capsys.readouterr().out
    for line in ("interface Node", "type Customer implements Node", "enum SessionState"):
        assert line in sdl
    parsed = parse_sdl(sdl)
    assert parsed.query_type is not None and parsed.mutation_type is not None
    by_child = parsed.query_type.fields["sessionByChildSessionId"]
    assert str(by_child.type) == "Session"
    assert str(by_child.args["childSessionId"].type) == "String!"
    logout_all = parsed.mutation_type.fields["logoutAll"]
    assert str(logout_all.type) == "LogoutPayload!"
    assert str(logout_all.args["customerId"].type) == "String"


@pytest.mark.dynamodb_local
def test_create_table_then_load_on_an_endpoint(dynamodb_local_server, capsys):
    url = dynamodb_local_server.endpoint_url
    args = ["--endpoint-url", url, "--table-name", "cli_table"]
    assert main(["create-table", *args]) == 0
    assert main(["create-table", *args]) == 0  # idempotent
    assert main(["load", *args, str(SAMPLE_MODEL)]) == 0
    out = capsys.readouterr().out
    assert "table cli_table created" in out
    assert "table cli_table exists already" in out
    assert "loaded 8 items into cli_table" in out
    client = dynamodb_local_server.client()
    index = client.describe_table(TableName="cli_table")["Table"]["GlobalSecondaryIndexes"][0]
    assert index["IndexName"] == "GSI1_inverse"
    # The 8 items, and a customer item for each of the 3 customers loaded (a Scan: a test,
    # not a request path).
    assert client.scan(TableName="cli_table", Select="COUNT")["Count"] == 8 + 3
    client.delete_table(TableName="cli_table")


def test_load_refuses_the_embedded_store(monkeypatch, capsys):
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB", raising=False)
    monkeypatch.delenv("SESSIONGRAPH_ENDPOINT_URL", raising=False)
    assert main(["load", str(SAMPLE_MODEL)]) == 2
    assert "serve --load" in capsys.readouterr().err


@pytest.mark.dynamodb_local
def test_load_reports_a_file_that_is_not_a_model(dynamodb_local_server, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"not": "a model"}')
    url = dynamodb_local_server.endpoint_url
    assert main(["load", "--endpoint-url", url, "--table-name", "x", str(bad)]) == 1
    assert "DataModel" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("store", "endpoint_url", "aws_endpoint", "kind"),
    [
        ("auto", None, None, "embedded"),
        ("auto", "http://127.0.0.1:9", None, "endpoint"),
        ("auto", None, "http://127.0.0.1:9", "endpoint"),
        ("embedded", "http://127.0.0.1:9", "http://127.0.0.1:9", "embedded"),
        ("endpoint", None, None, "endpoint"),
        ("aws", None, "http://127.0.0.1:9", "aws"),
    ],
)
def test_the_settings_store_kind_is_the_store_connect_opens(
    monkeypatch, store, endpoint_url, aws_endpoint, kind
):
    from dynamo import connect
    from server.services import open_connection
    from server.settings import Settings

    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB", raising=False)
    if aws_endpoint:
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", aws_endpoint)
    settings = Settings(store=store, endpoint_url=endpoint_url)
    assert settings.store_kind() == kind
    assert connect.resolve_kind(store, endpoint_url) == kind
    monkeypatch.setattr(connect, "connect_embedded", lambda table_name: "embedded")
    monkeypatch.setattr(
        connect,
        "connect_endpoint",
        lambda url, *, pool_size, use_aws=False, timeouts=None: "aws" if use_aws else "endpoint",
    )
    assert open_connection(settings) == kind


def test_load_refuses_the_embedded_store_when_asked_for_it(monkeypatch, capsys):
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9")
    assert main(["load", "--store", "embedded", str(SAMPLE_MODEL)]) == 2
    assert "serve --load" in capsys.readouterr().err


@pytest.mark.dynamodb_local
def test_load_into_a_missing_table_says_which_and_how_to_create_it(dynamodb_local_server, capsys):
    url = dynamodb_local_server.endpoint_url
    assert main(["load", "--endpoint-url", url, "--table-name", "nowhere", str(SAMPLE_MODEL)]) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"error: there is no table nowhere at {url}: create it with "
        f"`sessiongraph create-table --endpoint-url {url} --table-name nowhere`, then load again"
    ]
