"""deploy/cloudformation/session-store.yaml: the table as the code makes it, and a policy with
exactly the DynamoDB actions the server calls (cfn-lint checks the rest, in `make check`)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore import xform_name

from dynamo.store import GSI_NAME
from dynamo.table import TTL_ATTRIBUTE, table_definition
from tests.deploy.cfn_yaml import load_template

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "deploy" / "cloudformation" / "session-store.yaml"
SERVER_PACKAGES = ("dynamo", "resolvers", "schema", "server")
TABLE_MANAGEMENT = {REPO / "dynamo" / "table.py", REPO / "dynamo" / "table_sweep.py"}
"""CreateTable, DescribeTable (its waiter) and UpdateTimeToLive, which `sessiongraph
create-table` (or `serve --create-table`) calls: with this template the stack owns the table.
And the Scan of `sessiongraph sweep --all`: an operator's command with the operator's
credentials (the server never scans)."""
STREAM_READ = {
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
}
"""Real-time events read the table's stream."""


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE)


def _resource(template: dict[str, Any], kind: str) -> dict[str, Any]:
    found = [r for r in template["Resources"].values() if r["Type"] == kind]
    assert len(found) == 1, f"one {kind} expected"
    resource: dict[str, Any] = found[0]
    return resource


def _api_names() -> dict[str, str]:
    """botocore method name -> IAM action, for DynamoDB and DynamoDB Streams clients."""
    session = botocore.session.get_session()
    names: dict[str, str] = {}
    for service in ("dynamodb", "dynamodbstreams"):
        for operation in session.get_service_model(service).operation_names:
            names[xform_name(operation)] = f"dynamodb:{operation}"
    return names


def dynamodb_actions_called(files: list[Path]) -> dict[str, set[str]]:
    """IAM action -> files, for every `<...>.client.<method>(...)` / `client.<method>(...)`."""
    api = _api_names()
    called: dict[str, set[str]] = {}
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            owner = node.func.value
            is_client = (isinstance(owner, ast.Name) and owner.id == "client") or (
                isinstance(owner, ast.Attribute) and owner.attr == "client"
            )
            if is_client and node.func.attr in api:
                called.setdefault(api[node.func.attr], set()).add(str(path.relative_to(REPO)))
    return called


def _server_files() -> list[Path]:
    return [
        path
        for package in SERVER_PACKAGES
        for path in sorted((REPO / package).rglob("*.py"))
        if path not in TABLE_MANAGEMENT
    ]


def test_the_table_is_the_one_the_code_creates(template):
    table = _resource(template, "AWS::DynamoDB::Table")
    properties = table["Properties"]
    expected = table_definition("x")
    for name in ("AttributeDefinitions", "KeySchema", "BillingMode", "GlobalSecondaryIndexes"):
        assert properties[name] == expected[name], name
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["GlobalSecondaryIndexes"] == [
        {
            "IndexName": GSI_NAME,
            "KeySchema": [
                {"AttributeName": "SK", "KeyType": "HASH"},
                {"AttributeName": "PK", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }
    ]
    assert properties["TimeToLiveSpecification"] == {
        "AttributeName": TTL_ATTRIBUTE,
        "Enabled": True,
    }
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["DeletionProtectionEnabled"] is True
    assert properties["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert properties["TableName"] == {"Ref": "TableName"}
    assert template["Parameters"]["TableName"]["Default"] == "session_store"
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"


def test_the_policy_grants_exactly_what_the_server_calls(template):
    statements = _resource(template, "AWS::IAM::ManagedPolicy")["Properties"]["PolicyDocument"][
        "Statement"
    ]
    granted = {action for s in statements for action in s["Action"]}
    called = dynamodb_actions_called(_server_files())
    assert "dynamodb:Query" in called and "dynamodb:BatchGetItem" in called  # the walk works
    missing = {a: sorted(f) for a, f in called.items() if a not in granted}
    assert missing == {}, (
        "the server calls actions the IAM policy in deploy/cloudformation/session-store.yaml "
        "does not grant: add them there (or, for table management, to TABLE_MANAGEMENT here)"
    )
    unused = granted - set(called) - STREAM_READ
    assert unused == set(), "the policy grants actions no server code calls: remove them"
    assert granted >= STREAM_READ
    for statement in statements:
        assert statement["Effect"] == "Allow"
        for action in statement["Action"]:
            assert "*" not in action
    assert "dynamodb:Scan" not in granted


def test_the_policy_names_the_table_its_index_and_its_stream(template):
    statements = {
        s["Sid"]: s
        for s in _resource(template, "AWS::IAM::ManagedPolicy")["Properties"]["PolicyDocument"][
            "Statement"
        ]
    }
    table_arn = {"Fn::GetAtt": ["SessionStoreTable", "Arn"]}
    assert statements["SessionItems"]["Resource"] == table_arn
    assert statements["SessionQueries"]["Resource"] == [
        table_arn,
        {"Fn::Sub": f"${{SessionStoreTable.Arn}}/index/{GSI_NAME}"},
    ]
    assert statements["SessionEventsStream"]["Resource"] == {
        "Fn::GetAtt": ["SessionStoreTable", "StreamArn"]
    }
    # ListStreams has no resource-level permission: "*" is the only resource IAM accepts.
    assert statements["FindTheStream"] == {
        "Sid": "FindTheStream",
        "Effect": "Allow",
        "Action": ["dynamodb:ListStreams"],
        "Resource": "*",
    }
    wildcard = [s for s in statements.values() if s["Resource"] == "*"]
    assert [s["Sid"] for s in wildcard] == ["FindTheStream"]


def test_the_walk_sees_table_management_as_such():
    called = dynamodb_actions_called(sorted(TABLE_MANAGEMENT))
    assert {"dynamodb:CreateTable", "dynamodb:UpdateTimeToLive"} <= set(called)


def test_outputs_name_what_the_server_needs(template):
    assert {"TableName", "TableArn", "StreamArn", "ServerPolicyArn"} <= set(template["Outputs"])
