"""The production switch: no introspection, GraphiQL, GET queries or "Did you mean" hints, and
no start without a long admin token or on the embedded store."""

from __future__ import annotations

import json

import pytest
import uvicorn

from dynamo.connect import Connection
from dynamo.runner import BlockingCallRunner
from server import cli
from server.app import ConfigurationError, create_app
from server.graphiql import ASSET_ROUTE_PREFIX, SCRIPTS, assets_installed
from server.services import Services
from server.settings import Settings
from tests.security.helpers import PASSWORD, VIEWER, moto_only, serve
from tests.support.servers import free_port

PRODUCTION_TOKEN = "p" * 32
TOKEN_PROBLEM = "SESSIONGRAPH_ADMIN_TOKEN must be set, at least 32 characters"
EMBEDDED_PROBLEM = (
    "the embedded in-memory store loses every session on restart: configure "
    "AWS_ENDPOINT_URL_DYNAMODB, --endpoint-url or --store aws"
)

INTROSPECTION = [
    "{ __schema { types { name fields { name } } } }",
    '{ __type(name: "Session") { name fields { name } } }',
    "query { __schema { queryType { fields { name args { name } } } } }",
]

# (query, the error messages in production, what development suggests instead)
MISSPELLED = [
    ("{ viewr { sessionId } }", ["Cannot query field 'viewr' on type 'Query'."], "'viewer'"),
    (
        "{ viewer { sesionId } }",
        ["Cannot query field 'sesionId' on type 'Session'."],
        "'sessionId'",
    ),
    (
        'mutation { logn(customerId: "x") { accessToken } }',
        ["Cannot query field 'logn' on type 'Mutation'."],
        "'login'",
    ),
    (
        '{ node(id: "x") { sessionId } }',
        ["Cannot query field 'sessionId' on type 'Node'."],
        "inline fragment on 'Session'",
    ),
    ("{ viewer { ... on Sesion { sessionId } } }", ["Unknown type 'Sesion'."], "'Session'"),
    ("query($x: Strin) { viewer { sessionId } }", None, "'String'"),
]


@pytest.fixture
def production(store):
    with serve(store, env="production", admin_token=PRODUCTION_TOKEN) as api:
        yield api


def _schema_names(store) -> set[str]:
    """Every type, field and argument name of the schema, from a development app."""
    with serve(store) as api:
        data = api("{ __schema { types { name fields { name args { name } } } } }").ok()
    names = set()
    for type_ in data["__schema"]["types"]:
        if type_["name"].startswith("__"):
            continue
        names.add(type_["name"])
        for field in type_["fields"] or []:
            names.add(field["name"])
            names.update(arg["name"] for arg in field["args"])
    return names


@moto_only
def test_production_starts_over_an_external_store_with_a_32_character_admin_token(production):
    assert production.client.get("/healthz").json() == {"status": "ok", "store": "external"}
    result = production(
        'mutation { logoutAll(customerId: "nobody") { endedSessionIds } }',
        headers={"Authorization": f"Bearer {PRODUCTION_TOKEN}"},
    )
    assert result.ok() == {"logoutAll": {"endedSessionIds": []}}


@moto_only
def test_production_answers_post_requests(production):
    production.register("alice", PASSWORD)
    token, session_id = production.login("alice", PASSWORD)
    assert production(VIEWER, token=token).ok() == {"viewer": {"sessionId": session_id}}


@moto_only
@pytest.mark.parametrize("admin_token", [None, "", "p" * 31], ids=["none", "empty", "31"])
def test_production_refuses_to_start_without_a_long_admin_token(store, admin_token):
    runner = BlockingCallRunner(1)
    try:
        with pytest.raises(ConfigurationError) as refused:
            create_app(
                Settings(env="production", admin_token=admin_token),
                Services(store=store, runner=runner),
            )
    finally:
        runner.close()
    assert str(refused.value) == f"refusing to start in production: {TOKEN_PROBLEM}"


@moto_only
def test_production_refuses_to_start_on_the_embedded_store(store):
    embedded = Connection(client=store.client, kind="embedded", max_concurrency=1)
    runner = BlockingCallRunner(1)
    try:
        with pytest.raises(ConfigurationError) as refused:
            create_app(
                Settings(env="production", admin_token=PRODUCTION_TOKEN),
                Services(store=store, runner=runner, connection=embedded),
            )
        # Development starts on it, with no admin token at all.
        create_app(Settings(), Services(store=store, runner=runner, connection=embedded))
    finally:
        runner.close()
    assert str(refused.value) == f"refusing to start in production: {EMBEDDED_PROBLEM}"


@moto_only
@pytest.mark.parametrize("query", INTROSPECTION)
def test_production_introspection_reveals_nothing(store, production, calls, query):
    names = _schema_names(store)
    assert {"Session", "Customer", "sessionId", "childSessions", "registerCustomer"} <= names
    calls.reset()
    result = production(query)
    assert result.status == 200
    assert result.data is None
    assert result.errors
    assert set(result.codes) == {"BAD_USER_INPUT"}
    assert all(
        e["message"].startswith("GraphQL introspection has been disabled") for e in result.errors
    )
    text = json.dumps(result.body)
    revealed = {n for n in names if f"'{n}'" in text or f'"{n}"' in text} - set(
        query.replace("{", " ").replace("}", " ").replace('"', " ").split()
    )
    assert revealed == set(), result.body
    assert calls.total == 0


@moto_only
def test_development_introspection_is_on(api):
    types = {t["name"] for t in api("{ __schema { types { name } } }").ok()["__schema"]["types"]}
    assert {"Session", "Customer", "Query", "Mutation"} <= types


@moto_only
@pytest.mark.parametrize(("query", "messages", "suggestion"), MISSPELLED)
def test_production_a_misspelled_name_gets_no_suggestion(
    api, production, calls, query, messages, suggestion
):
    development = api(query)
    assert "Did you mean" in json.dumps(development.body)
    assert suggestion in json.dumps(development.body)
    calls.reset()
    result = production(query)
    assert result.status == 200
    assert result.data is None
    assert set(result.codes) == {"BAD_USER_INPUT"}
    text = json.dumps(result.body)
    assert "Did you mean" not in text
    assert suggestion not in text
    if messages is not None:
        assert [e["message"] for e in result.errors] == messages
    assert calls.total == 0


@moto_only
def test_production_has_no_graphiql(api, production):
    page = {"accept": "text/html"}
    assert api.client.get("/graphql", headers=page).status_code == 200
    response = production.client.get("/graphql", headers=page)
    assert response.status_code == 404
    assert "<html" not in response.text.lower()
    body = response.json()
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}
    assert error["message"].startswith("Not Found: GraphiQL is off on this server")
    asset = f"{ASSET_ROUTE_PREFIX}/{SCRIPTS[0].vendor_path}"
    if assets_installed():
        assert api.client.get(asset).status_code == 200
    assert production.client.get(asset).status_code == 404


@moto_only
def test_production_refuses_get_queries(api, production, alice, calls):
    token, session_id = alice
    params = {"query": VIEWER}
    auth = {"authorization": f"Bearer {token}"}
    assert api.client.get("/graphql", params=params, headers=auth).json() == {
        "data": {"viewer": {"sessionId": session_id}}
    }
    calls.reset()
    response = production.client.get("/graphql", params=params, headers=auth)
    assert response.status_code == 400
    body = response.json()
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}
    assert error["message"].startswith("queries are not allowed when using GET: ")
    assert "SESSIONGRAPH_ALLOW_GET" in error["message"]
    assert calls.total == 0


# The CLI: `sessiongraph serve` checks the same rules before it opens anything.


@pytest.fixture
def served(monkeypatch):
    """Runs of uvicorn.run, which is replaced: no server starts in these tests (`serve` still
    checks that its port is free, so it gets one that is, not the default 8000)."""
    runs: list[dict] = []
    monkeypatch.setenv("SESSIONGRAPH_PORT", str(free_port()))
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: runs.append(options))
    monkeypatch.setenv("SESSIONGRAPH_ENV", "production")
    for name in ("SESSIONGRAPH_ADMIN_TOKEN", "SESSIONGRAPH_STORE", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(name, raising=False)
    return runs


def test_cli_production_refuses_the_embedded_store(served, monkeypatch, capsys):
    monkeypatch.setenv("SESSIONGRAPH_ADMIN_TOKEN", PRODUCTION_TOKEN)
    assert cli.main(["serve", "--store", "embedded"]) == 2
    assert served == []
    assert capsys.readouterr().err == f"refusing to start in production: {EMBEDDED_PROBLEM}\n"


def test_cli_production_refuses_a_short_admin_token(served, monkeypatch, capsys):
    monkeypatch.setenv("SESSIONGRAPH_ADMIN_TOKEN", "p" * 31)
    assert cli.main(["serve", "--endpoint-url", "http://127.0.0.1:9"]) == 2
    assert served == []
    assert capsys.readouterr().err == f"refusing to start in production: {TOKEN_PROBLEM}\n"


def test_cli_production_starts_with_a_long_admin_token_and_an_endpoint(served, monkeypatch):
    monkeypatch.setenv("SESSIONGRAPH_ADMIN_TOKEN", PRODUCTION_TOKEN)
    assert cli.main(["serve", "--endpoint-url", "http://127.0.0.1:9"]) == 0
    assert len(served) == 1


def test_cli_production_refuses_to_start_without_an_admin_token(served, capsys):
    code = cli.main(["serve", "--endpoint-url", "http://127.0.0.1:9"])
    assert served == []
    assert "admin token (generated" not in capsys.readouterr().out
    assert code == 2
