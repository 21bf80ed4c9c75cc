"""create_table: the table and its GSI as the model defines them, idempotent, TTL and stream best effort."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from botocore.exceptions import ClientError

from dynamo.store import GSI_NAME
from dynamo.table import TTL_ATTRIBUTE, create_table
from tests.dynamo.helpers import hooked


def test_the_table_has_the_model_keys_and_the_inverse_gsi(store: Any) -> None:
    table = store.client.describe_table(TableName=store.table_name)["Table"]
    assert table["TableStatus"] == "ACTIVE"
    assert table["KeySchema"] == [
        {"AttributeName": "PK", "KeyType": "HASH"},
        {"AttributeName": "SK", "KeyType": "RANGE"},
    ]
    assert sorted(
        (a["AttributeName"], a["AttributeType"]) for a in table["AttributeDefinitions"]
    ) == [
        ("PK", "S"),
        ("SK", "S"),
    ]
    [index] = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == GSI_NAME == "GSI1_inverse"
    assert index["KeySchema"] == [
        {"AttributeName": "SK", "KeyType": "HASH"},
        {"AttributeName": "PK", "KeyType": "RANGE"},
    ]
    assert index["Projection"]["ProjectionType"] == "ALL"


def test_creating_an_existing_table_returns_false_and_changes_nothing(
    store: Any, calls: Any
) -> None:
    calls.reset()
    assert create_table(store.client, store.table_name) is False
    assert calls.of("CreateTable") == 1  # refused with ResourceInUseException
    assert calls.of("UpdateTimeToLive") == 0
    assert calls.of("DeleteTable") == 0
    table = store.client.describe_table(TableName=store.table_name)["Table"]
    assert table["TableStatus"] == "ACTIVE"


def test_ttl_is_enabled_on_expires_at(store: Any) -> None:
    try:
        description = store.client.describe_time_to_live(TableName=store.table_name)
    except ClientError as exc:  # an engine without TTL support
        pytest.skip(f"this engine has no DescribeTimeToLive: {exc}")
    ttl = description["TimeToLiveDescription"]
    assert ttl["TimeToLiveStatus"] in ("ENABLED", "ENABLING")
    assert ttl["AttributeName"] == TTL_ATTRIBUTE == "expires_at"


def test_an_engine_without_ttl_gets_a_warning_not_a_failure(
    store: Any, caplog: pytest.LogCaptureFixture
) -> None:
    def no_ttl(**_: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "UnknownOperationException", "Message": "not supported"}},
            "UpdateTimeToLive",
        )

    name = store.table_name + "_nottl"
    with (
        hooked(store.client, "before-call.dynamodb.UpdateTimeToLive", no_ttl),
        caplog.at_level(logging.WARNING, logger="dynamo.table"),
    ):
        assert create_table(store.client, name) is True
    try:
        assert store.client.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE"
        assert any("TTL" in r.getMessage() and name in r.getMessage() for r in caplog.records)
    finally:
        store.client.delete_table(TableName=name)


def test_other_creation_errors_are_not_swallowed(store: Any) -> None:
    def refuse(**_: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "LimitExceededException", "Message": "too many tables"}},
            "CreateTable",
        )

    with (
        hooked(store.client, "before-call.dynamodb.CreateTable", refuse),
        pytest.raises(ClientError, match="LimitExceededException"),
    ):
        create_table(store.client, store.table_name + "_refused")


def test_the_stream_is_enabled_with_both_images(store: Any) -> None:
    table = store.client.describe_table(TableName=store.table_name)["Table"]
    assert table["StreamSpecification"] == {
        "StreamEnabled": True,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    assert table["LatestStreamArn"]


def test_an_engine_without_streams_gets_a_warning_not_a_failure(
    store: Any, caplog: pytest.LogCaptureFixture
) -> None:
    def no_streams(**_: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "ValidationException", "Message": "no UpdateStreamEnabled"}},
            "UpdateTable",
        )

    name = store.table_name + "_nostreams"
    with (
        hooked(store.client, "before-call.dynamodb.UpdateTable", no_streams),
        caplog.at_level(logging.WARNING, logger="dynamo.table"),
    ):
        assert create_table(store.client, name) is True
    try:
        assert store.client.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE"
        assert any("stream" in r.getMessage() and name in r.getMessage() for r in caplog.records)
    finally:
        store.client.delete_table(TableName=name)
