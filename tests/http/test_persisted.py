"""Persisted queries over HTTP: Automatic Persisted Queries (Apollo's protocol, POST and GET) and
trusted documents (SESSIONGRAPH_TRUSTED_DOCUMENTS, GraphQL Codegen's persisted-documents.json),
each document parsed and validated once."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from strawberry.extensions import ParserCache, ValidationCache

from server.app import ConfigurationError, create_app
from server.services import Services
from server.settings import Settings
from tests.security.helpers import moto_only, serve
from tests.support.api import ADMIN_TOKEN

PRODUCTION_TOKEN = "production-admin-token-0123456789abcdef"
TYPENAME = "query Typename { __typename }"
CUSTOMER = "query Customer($c: String!) { customer(customerId: $c) { customerId } }"
SESSIONS = (
    "query Sessions($c: String!, $n: Int) "
    "{ customer(customerId: $c) { sessions(first: $n) { edges { cursor } } } }"
)
REGISTER = (
    "mutation Register($c: String!, $p: String!) "
    "{ registerCustomer(customerId: $c, password: $p) { customerId } }"
)
NOT_FOUND = {
    "data": None,
    "errors": [
        {"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}
    ],
}


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def persisted(sha256: str) -> dict:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha256}}


def post(api, headers=None, **body):
    return api.client.post("/graphql", json=body, headers=headers or {})


def get(api, headers=None, **params):
    encoded = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
    return api.client.get("/graphql", params=encoded, headers=headers or {})


def codes(response) -> list[str]:
    return [e["extensions"]["code"] for e in response.json().get("errors") or []]


@pytest.fixture
def trusted_file(tmp_path: Path) -> Path:
    """A persisted-documents.json as GraphQL Codegen's client preset writes it (sha256)."""
    path = tmp_path / "persisted-documents.json"
    path.write_text(json.dumps({sha(d): d for d in (TYPENAME, CUSTOMER, SESSIONS)}))
    return path


@pytest.fixture
def spies(monkeypatch):
    """Counts the parses and validations that really run (not the prepared shortcut)."""
    counts = {"parse": 0, "validate": 0}
    real_parse, real_validate = ParserCache.on_parse, ValidationCache.on_validate

    def on_parse(self):
        counts["parse"] += 1
        yield from real_parse(self)

    def on_validate(self):
        counts["validate"] += 1
        yield from real_validate(self)

    monkeypatch.setattr(ParserCache, "on_parse", on_parse)
    monkeypatch.setattr(ValidationCache, "on_validate", on_validate)
    return counts


# Automatic Persisted Queries


@pytest.mark.parametrize("send", [post, get], ids=["POST", "GET"])
@moto_only
def test_an_unknown_hash_is_persisted_query_not_found(api, calls, send):
    calls.reset()
    response = send(api, extensions=persisted(sha(TYPENAME)))
    assert response.status_code == 200
    assert response.json() == NOT_FOUND
    assert response.headers["cache-control"] == "private, no-cache, must-revalidate"
    assert calls.total == 0


@moto_only
def test_not_found_as_graphql_response_json_is_404_without_data(api):
    response = post(
        api, {"accept": "application/graphql-response+json"}, extensions=persisted(sha(TYPENAME))
    )
    assert response.status_code == 404
    assert response.json() == {"errors": NOT_FOUND["errors"]}


@pytest.mark.parametrize("send", [post, get], ids=["POST", "GET"])
@moto_only
def test_a_query_sent_with_its_hash_is_registered_then_runs_by_hash(api, send):
    admin = {"authorization": f"Bearer {ADMIN_TOKEN}"}
    api.register("alice")
    variables = {"c": "alice"}
    assert send(api, admin, extensions=persisted(sha(CUSTOMER)), variables=variables).json() == (
        NOT_FOUND
    )
    first = post(
        api, admin, query=CUSTOMER, variables=variables, extensions=persisted(sha(CUSTOMER))
    )
    assert first.json() == {"data": {"customer": {"customerId": "alice"}}}
    again = send(api, admin, extensions=persisted(sha(CUSTOMER)), variables=variables)
    assert again.status_code == 200
    assert again.json() == {"data": {"customer": {"customerId": "alice"}}}
    other = send(api, admin, extensions=persisted(sha(CUSTOMER)), variables={"c": "bob"})
    assert other.json() == {"data": {"customer": None}}


@moto_only
def test_a_hash_that_does_not_match_the_query_is_refused_and_not_registered(api, calls):
    wrong = sha(TYPENAME + " ")
    calls.reset()
    response = post(api, query=TYPENAME, extensions=persisted(wrong))
    assert response.status_code == 200
    assert codes(response) == ["BAD_USER_INPUT"]
    message = response.json()["errors"][0]["message"]
    assert message.startswith("provided sha does not match query")
    assert "__typename" not in message
    assert post(api, extensions=persisted(wrong)).json() == NOT_FOUND
    assert calls.total == 0


@moto_only
@pytest.mark.parametrize(
    "extension",
    [
        {"version": 2, "sha256Hash": sha(TYPENAME)},
        {"sha256Hash": sha(TYPENAME)},
        "not an object",
        {"version": 1, "sha256Hash": "ABC"},
        {"version": 1, "sha256Hash": sha(TYPENAME).upper()},
        {"version": 1, "sha256Hash": 12},
        {"version": 1, "sha256Hash": "{ viewer { sessionId } } " * 200},
    ],
)
def test_a_malformed_persisted_query_extension_is_bad_user_input(api, extension):
    response = post(api, query=TYPENAME, extensions={"persistedQuery": extension})
    assert codes(response) == ["BAD_USER_INPUT"]
    message = response.json()["errors"][0]["message"]
    assert "persistedQuery" in message
    assert len(message) < 300, "a long hash is not echoed back whole"


@moto_only
def test_the_cache_is_a_bounded_lru(store):
    documents = ["{ __typename }", "{ a: __typename }", "{ b: __typename }"]
    with serve(store, persisted_query_cache_size=2) as api:
        for document in documents[:2]:
            post(api, query=document, extensions=persisted(sha(document))).json()
        assert "errors" not in post(api, extensions=persisted(sha(documents[0]))).json()  # used
        post(api, query=documents[2], extensions=persisted(sha(documents[2])))
        assert post(api, extensions=persisted(sha(documents[1]))).json() == NOT_FOUND  # evicted
        for document in (documents[0], documents[2]):
            assert "errors" not in post(api, extensions=persisted(sha(document))).json()


@moto_only
def test_a_cache_size_of_zero_turns_apq_off(store):
    with serve(store, persisted_query_cache_size=0) as api:
        response = post(api, extensions=persisted(sha(TYPENAME)))
        assert codes(response) == ["PERSISTED_QUERY_NOT_SUPPORTED"]
        assert response.json()["errors"][0]["message"] == "PersistedQueryNotSupported"
        sent = post(api, query=TYPENAME, extensions=persisted(sha(TYPENAME)))
        assert sent.json() == {"data": {"__typename": "Query"}}
        assert codes(post(api, extensions=persisted(sha(TYPENAME)))) == [
            "PERSISTED_QUERY_NOT_SUPPORTED"
        ]


@moto_only
def test_an_invalid_document_gets_its_errors_and_is_not_registered(api):
    invalid = "{ noSuchField }"
    response = post(api, query=invalid, extensions=persisted(sha(invalid)))
    assert codes(response) == ["BAD_USER_INPUT"]
    assert "Cannot query field" in response.json()["errors"][0]["message"]
    assert post(api, extensions=persisted(sha(invalid))).json() == NOT_FOUND


@moto_only
def test_a_persisted_mutation_is_not_run_by_get(api, calls):
    variables = {"c": "mallory", "p": "long enough password"}
    post(api, query=REGISTER, variables=variables, extensions=persisted(sha(REGISTER))).json()
    calls.reset()
    response = get(api, extensions=persisted(sha(REGISTER)), variables={**variables, "c": "eve"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"].startswith(
        "mutations are not allowed when using GET"
    )
    assert calls.total == 0


@moto_only
def test_a_known_document_skips_parsing_and_validation_and_keeps_the_limits(api, spies, calls):
    variables = {"c": "alice", "n": 5}
    post(api, query=SESSIONS, variables=variables, extensions=persisted(sha(SESSIONS))).json()
    assert spies == {"parse": 0, "validate": 0}, "registration prepares the document itself"
    for _ in range(3):
        response = post(api, extensions=persisted(sha(SESSIONS)), variables=variables)
        assert response.json() == {"data": {"customer": None}}
    assert spies == {"parse": 0, "validate": 0}
    # What depends on the request still runs: the page size limit, before any DynamoDB call.
    calls.reset()
    too_big = post(api, extensions=persisted(sha(SESSIONS)), variables={"c": "alice", "n": 10**6})
    assert codes(too_big) == ["BAD_USER_INPUT"]
    assert "first must be between" in too_big.json()["errors"][0]["message"]
    assert calls.total == 0
    # A document sent as text is parsed and validated as always.
    post(api, query="{ __typename }").json()
    assert spies == {"parse": 1, "validate": 1}


@moto_only
def test_registration_applies_the_depth_limit(store):
    deep = "{ viewer { parent { parent { parent { sessionId } } } } }"
    with serve(store, max_depth=2) as api:
        response = post(api, query=deep, extensions=persisted(sha(deep)))
        assert codes(response) == ["BAD_USER_INPUT"]
        assert "depth limit is 2" in response.json()["errors"][0]["message"]
        assert post(api, extensions=persisted(sha(deep))).json() == NOT_FOUND


# Trusted documents


@moto_only
def test_trusted_documents_run_by_document_id_or_hash(store, trusted_file, spies):
    with serve(store, trusted_documents=trusted_file) as api:
        expected = {"data": {"__typename": "Query"}}
        h = sha(TYPENAME)
        assert post(api, documentId=f"sha256:{h}").json() == expected
        assert post(api, documentId=h).json() == expected
        assert get(api, documentId=f"sha256:{h}").json() == expected
        assert post(api, extensions=persisted(h)).json() == expected
        assert get(api, extensions=persisted(h)).json() == expected
        assert post(api, documentId=f"sha256:{h}", operationName="Typename").json() == expected
        assert spies == {"parse": 0, "validate": 0}
        # Not enforced outside production: other documents and APQ still work.
        assert post(api, query="{ __typename }").json() == expected
        other = "{ x: __typename }"
        assert "errors" not in post(api, query=other, extensions=persisted(sha(other))).json()


@moto_only
def test_an_unknown_document_id_names_the_setting(store, trusted_file, calls):
    with serve(store, trusted_documents=trusted_file) as api:
        calls.reset()
        response = post(api, documentId=f"sha256:{sha('{ nope }')}")
        assert response.status_code == 200
        assert codes(response) == ["PERSISTED_QUERY_NOT_FOUND"]
        message = response.json()["errors"][0]["message"]
        assert "SESSIONGRAPH_TRUSTED_DOCUMENTS" in message
        assert calls.total == 0


@moto_only
@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"documentId": "md5:abc"}, 'documentId must be "sha256:<64 lowercase hex digits>"'),
        ({"documentId": 12}, "documentId must be a string"),
        ({"documentId": "sha256:" + "a" * 64, "query": TYPENAME}, "not both"),
    ],
)
def test_a_malformed_document_id_is_bad_user_input(store, trusted_file, body, fragment):
    with serve(store, trusted_documents=trusted_file) as api:
        response = api.client.post("/graphql", json=body)
    assert codes(response) == ["BAD_USER_INPUT"]
    assert fragment in response.json()["errors"][0]["message"]


@pytest.fixture
def locked(store, trusted_file):
    """Production with a trusted documents list: nothing else runs."""
    with serve(
        store, env="production", admin_token=PRODUCTION_TOKEN, trusted_documents=trusted_file
    ) as api:
        yield api


@moto_only
def test_in_production_with_a_list_other_documents_are_not_allowed(locked, calls):
    calls.reset()
    for document in ("{ __typename }", "mutation { logoutAll { endedSessionIds } }"):
        response = post(locked, query=document)
        assert response.status_code == 200
        assert codes(response) == ["PERSISTED_QUERY_NOT_ALLOWED"]
        message = response.json()["errors"][0]["message"]
        assert "SESSIONGRAPH_TRUSTED_DOCUMENTS" in message
        assert document not in message
    as_graphql_response = post(
        locked, {"accept": "application/graphql-response+json"}, query="{ __typename }"
    )
    assert as_graphql_response.status_code == 403
    assert "data" not in as_graphql_response.json()
    assert calls.total == 0


@moto_only
def test_in_production_with_a_list_apq_registers_nothing(locked):
    document = "{ __typename }"
    response = post(locked, query=document, extensions=persisted(sha(document)))
    assert codes(response) == ["PERSISTED_QUERY_NOT_ALLOWED"]
    assert post(locked, extensions=persisted(sha(document))).json() == NOT_FOUND


@moto_only
def test_in_production_with_a_list_its_documents_run(locked):
    expected = {"data": {"__typename": "Query"}}
    assert post(locked, documentId=f"sha256:{sha(TYPENAME)}").json() == expected
    assert post(locked, extensions=persisted(sha(TYPENAME))).json() == expected
    assert post(locked, query=TYPENAME).json() == expected, "the exact text of a listed document"
    assert post(locked, query=TYPENAME, extensions=persisted(sha(TYPENAME))).json() == expected


@moto_only
def test_the_known_document_shortcut_holds_with_introspection_off(locked, spies):
    """Production's rules (introspection off) are the ones the documents were validated with."""
    for _ in range(2):
        assert "errors" not in post(locked, documentId=f"sha256:{sha(TYPENAME)}").json()
    assert spies == {"parse": 0, "validate": 0}


@moto_only
def test_production_without_a_list_keeps_apq(store):
    with serve(store, env="production", admin_token=PRODUCTION_TOKEN) as api:
        document = "{ __typename }"
        post(api, query=document, extensions=persisted(sha(document))).json()
        assert post(api, extensions=persisted(sha(document))).json() == {
            "data": {"__typename": "Query"}
        }


@moto_only
@pytest.mark.parametrize(
    ("settings", "enforced"),
    [
        ({"trusted_documents_only": True}, True),
        ({"env": "production", "admin_token": PRODUCTION_TOKEN}, True),
        (
            {"env": "production", "admin_token": PRODUCTION_TOKEN, "trusted_documents_only": False},
            False,
        ),
        ({}, False),
    ],
)
def test_trusted_documents_only_defaults_to_production(store, trusted_file, settings, enforced):
    with serve(store, trusted_documents=trusted_file, **settings) as api:
        response = post(api, query="{ __typename }")
    assert (codes(response) == ["PERSISTED_QUERY_NOT_ALLOWED"]) is enforced


def _write(tmp_path: Path, content: object) -> Path:
    path = tmp_path / "documents.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


@moto_only
@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        ("{not json", ["is not JSON"]),
        (["query { __typename }"], ["must be a JSON object", "persisted-documents.json"]),
        ({sha(TYPENAME): 12}, ["must be a JSON object"]),
        (
            {hashlib.sha1(TYPENAME.encode()).hexdigest(): TYPENAME},
            ["is not the SHA-256 of its document", "hashAlgorithm: 'sha256'"],
        ),
        ({sha("{ noSuchField }"): "{ noSuchField }"}, ["do not validate", "Cannot query field"]),
        (
            {
                sha("{ viewer { parent { parent { sessionId } } } }"): (
                    "{ viewer { parent { parent { sessionId } } } }"
                )
            },
            ["depth limit is 1"],
        ),
    ],
)
def test_a_bad_trusted_documents_file_stops_the_start(store, tmp_path, content, fragments):
    settings = Settings(
        admin_token=ADMIN_TOKEN, trusted_documents=_write(tmp_path, content), max_depth=1
    )
    with pytest.raises(ConfigurationError) as refused:
        create_app(settings, Services(store=store, runner=None))  # type: ignore[arg-type]
    message = str(refused.value)
    assert "SESSIONGRAPH_TRUSTED_DOCUMENTS" in message
    for fragment in fragments:
        assert fragment in message
    assert "noSuchField }" not in message, "a document is never echoed whole"


@moto_only
def test_a_missing_trusted_documents_file_stops_the_start(store, tmp_path):
    settings = Settings(admin_token=ADMIN_TOKEN, trusted_documents=tmp_path / "missing.json")
    with pytest.raises(ConfigurationError, match="cannot read SESSIONGRAPH_TRUSTED_DOCUMENTS="):
        create_app(settings, Services(store=store, runner=None))  # type: ignore[arg-type]


def test_serve_refuses_a_bad_file_with_a_message_not_a_traceback(tmp_path):
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("SESSIONGRAPH_", "AWS_"))
    }
    environment["SESSIONGRAPH_TRUSTED_DOCUMENTS"] = str(_write(tmp_path, "{not json"))
    completed = subprocess.run(
        [sys.executable, "-m", "server.cli", "serve", "--port", "1"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 2, completed.stderr
    assert "error: SESSIONGRAPH_TRUSTED_DOCUMENTS=" in completed.stderr
    assert "Traceback" not in completed.stderr


@moto_only
def test_a_prepared_document_cannot_be_forged_from_json(api, spies):
    """The shortcut takes only the server's own Python object, never what a body carries."""
    forged = {"sessiongraph.preparedDocument": {"query": "{ __typename }", "document": {}}}
    response = post(api, query="{ __typename }", extensions=forged)
    assert response.json() == {"data": {"__typename": "Query"}}
    assert spies == {"parse": 1, "validate": 1}
