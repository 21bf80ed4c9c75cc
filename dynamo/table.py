"""The `session_store` table and its `GSI1_inverse` index, created the same on every engine."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from dynamo.store import GSI_NAME

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

log = logging.getLogger(__name__)

TTL_ATTRIBUTE = "expires_at"


def table_definition(table_name: str) -> dict[str, Any]:
    """CreateTable arguments: PK/SK strings, on-demand, GSI with the keys inverted."""
    return {
        "TableName": table_name,
        "AttributeDefinitions": [
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
        ],
        "KeySchema": [
            {"AttributeName": "PK", "KeyType": "HASH"},
            {"AttributeName": "SK", "KeyType": "RANGE"},
        ],
        "BillingMode": "PAY_PER_REQUEST",
        "GlobalSecondaryIndexes": [
            {
                "IndexName": GSI_NAME,
                "KeySchema": [
                    {"AttributeName": "SK", "KeyType": "HASH"},
                    {"AttributeName": "PK", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    }


def create_table(client: DynamoDBClient, table_name: str) -> bool:
    """Create the table if missing, wait until it is active, enable TTL and the stream
    (both best effort).

    Returns True when this call created the table, False when it was already there.
    """
    created = True
    try:
        client.create_table(**table_definition(table_name))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceInUseException":
            raise
        created = False
    client.get_waiter("table_exists").wait(
        TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 120}
    )
    if created:
        enable_ttl(client, table_name)
        enable_stream(client, table_name)
    return created


def enable_ttl(client: DynamoDBClient, table_name: str) -> None:
    """Turn on TTL for `expires_at`; an engine without UpdateTimeToLive only gets a warning."""
    try:
        client.update_time_to_live(
            TableName=table_name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
        )
    except ClientError as exc:
        log.warning("TTL on %s not enabled (%s): expired items are only hidden", table_name, exc)


def enable_stream(client: DynamoDBClient, table_name: str) -> None:
    """Turn on the table's stream (new and old images), which every server process reads to
    tell subscribers that a session ended. An engine without streams only gets a warning:
    the servers then poll the keys their subscribers watch."""
    try:
        client.update_table(
            TableName=table_name,
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        client.get_waiter("table_exists").wait(
            TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 120}
        )
    except ClientError as exc:
        log.warning(
            "stream on %s not enabled (%s): subscriptions poll the table instead", table_name, exc
        )
