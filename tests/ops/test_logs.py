"""Logs: one JSON object per line for every logger (the access line too), each request's
lines with its request id, operation, duration and error codes; audit events for admin
actions; and no secret in any line, with logging at DEBUG through the whole API flow."""

from __future__ import annotations

import json
import os
import urllib.parse
from typing import Any

import pytest

from dynamo.table import create_table
from tests.support.api import ADMIN_TOKEN
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.dynamodb_local

FIRST_PASSWORD = "first-password-Xq81"
SECOND_PASSWORD = "second-password-Zr27"
WRONG_PASSWORD = "wrong-password-Kp55"

LOGIN = "mutation Login($c: String!, $p: String) { login(customerId: $c, password: $p) { accessToken session { sessionId } } }"


def _token(response: Any, field: str = "login") -> str:
    return str(response.ok()[field]["accessToken"])


def _whole_flow(server: ServerProcess) -> list[str]:
    """Every API call a frontend and an admin make; the secrets it handled."""
    g = server.graphql
    g(
        "mutation Register($c: String!, $p: String!) { registerCustomer(customerId: $c, password: $p) { customerId } }",
        {"c": "alice", "p": FIRST_PASSWORD},
    ).ok()
    parent = _token(g(LOGIN, {"c": "alice", "p": FIRST_PASSWORD}))
    child = _token(
        g('mutation Child { createChildSession(client: "shop") { accessToken } }', token=parent),
        "createChildSession",
    )
    g("query Viewer { viewer { sessionId } }", token=child).ok()
    g("query Viewer { viewer { sessionId } }", token=parent).ok()
    g("mutation Logout { logout { endedSessionIds } }", token=child).ok()
    second = _token(g(LOGIN, {"c": "alice", "p": FIRST_PASSWORD}))
    g("mutation LogoutAll { logoutAll { endedSessionIds } }", token=second).ok()
    third = _token(g(LOGIN, {"c": "alice", "p": FIRST_PASSWORD}))
    g(
        "mutation ChangePassword($old: String!, $new: String!) { changePassword(currentPassword: $old, newPassword: $new) { endedSessionIds } }",
        {"old": FIRST_PASSWORD, "new": SECOND_PASSWORD},
        token=third,
    ).ok()
    failed = g(LOGIN, {"c": "alice", "p": WRONG_PASSWORD})
    assert failed.codes == ["UNAUTHENTICATED"]
    inline = _token(
        g(
            f'mutation InlineLogin {{ login(customerId: "alice", password: "{SECOND_PASSWORD}") {{ accessToken }} }}'
        )
    )
    # A GET carries its variables in the URL, which uvicorn's access line would print.
    query = urllib.parse.urlencode(
        {
            "query": "query Viewer($t: String) { viewer { sessionId } }",
            "variables": json.dumps({"t": inline}),
        }
    )
    assert server.get(f"/graphql?{query}", headers={"accept": "application/json"}).status == 200
    # The admin: a passwordless SSO login, then ending another customer's sessions.
    g(
        "mutation Register($c: String!, $p: String!) { registerCustomer(customerId: $c, password: $p) { customerId } }",
        {"c": "bob", "p": FIRST_PASSWORD},
    ).ok()
    sso = _token(g(LOGIN, {"c": "bob"}, token=ADMIN_TOKEN))
    g(
        'mutation AdminLogoutAll { logoutAll(customerId: "bob") { endedSessionIds } }',
        token=ADMIN_TOKEN,
    ).ok()
    return [
        FIRST_PASSWORD,
        SECOND_PASSWORD,
        WRONG_PASSWORD,
        ADMIN_TOKEN,
        parent,
        child,
        second,
        third,
        inline,
        sso,
    ]


def _stored_secrets(client: Any, table: str) -> list[str]:
    """Password hashes and access-token hashes, as the table holds them."""
    found = []
    for page in client.get_paginator("scan").paginate(TableName=table):
        for item in page["Items"]:
            for name in ("password_hash", "access_token"):
                if "S" in item.get(name, {}):
                    found.append(item[name]["S"])
    return found


def test_json_lines_with_request_fields_audit_events_and_no_secret(dynamodb_local_server):
    table = f"ops_logs_{os.getpid()}"
    client = dynamodb_local_server.client()
    create_table(client, table)
    server = ServerProcess.start(
        endpoint_url=dynamodb_local_server.endpoint_url,
        table_name=table,
        admin_token=ADMIN_TOKEN,
        env={"SESSIONGRAPH_LOG_FORMAT": "json", "SESSIONGRAPH_LOG_LEVEL": "DEBUG"},
    )
    try:
        secrets = _whole_flow(server)
        secrets += _stored_secrets(client, table)
    finally:
        assert server.stop() == 0
        client.delete_table(TableName=table)
    assert any(s.startswith("$argon2") for s in secrets)  # the hashes were found
    output = "".join(server.output)
    for secret in [*secrets, "$argon2"]:
        assert secret not in output, f"a secret reached the log: {secret[:6]}..."

    # `serve` prints its banner on stdout before logging starts; every other line is a log line.
    banner = ("sessiongraph on the", "sample frontend:", "GraphiQL and the API:")
    lines = [json.loads(line) for line in server.output if not line.startswith(banner)]
    assert all(
        isinstance(line, dict) and {"time", "level", "logger", "message"} <= line.keys()
        for line in lines
    )
    assert any(line["level"] == "DEBUG" for line in lines)
    access = [line for line in lines if line["logger"] == "sessiongraph.access"]
    graphql = [line for line in access if line.get("path") == "/graphql"]
    assert len(graphql) == 16
    assert all(line["request_id"] and line["duration_ms"] >= 0 for line in graphql)
    assert len({line["request_id"] for line in graphql}) == len(graphql)
    assert {line.get("operation") for line in graphql} >= {
        "Register",
        "Login",
        "Child",
        "Viewer",
        "Logout",
        "LogoutAll",
        "ChangePassword",
        "InlineLogin",
        "AdminLogoutAll",
    }
    failed = [line for line in graphql if line.get("error_codes")]
    assert [(line["operation"], line["error_codes"]) for line in failed] == [
        ("Login", ["UNAUTHENTICATED"]),
        ("Viewer", ["BAD_USER_INPUT"]),  # the GET: its variable is not used
    ]
    audit = [line for line in lines if line["logger"] == "sessiongraph.audit"]
    assert [(line["audit"], line["customer_id"]) for line in audit] == [
        ("admin_login", "bob"),
        ("admin_logout_all", "bob"),
    ]
    assert all(line["request_id"] for line in audit)
