"""The handle every storage function takes: client, table name, clock and session policy."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from dynamo.clock import Clock, SystemClock
from dynamo.records import Item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

GSI_NAME = "GSI1_inverse"
DEFAULT_TABLE_NAME = "session_store"


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """How long sessions live (docs/design.md section 3)."""

    idle_timeout: timedelta = timedelta(minutes=30)
    absolute_lifetime: timedelta = timedelta(hours=12)
    touch_interval: timedelta = timedelta(minutes=1)
    max_sessions_per_customer: int | None = None


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    """Failed password logins: past `threshold` within `window`, the customer is locked for
    `base_lock`, doubling with each further failure, at most `max_lock`."""

    threshold: int = 5
    window: timedelta = timedelta(minutes=15)
    base_lock: timedelta = timedelta(minutes=1)
    max_lock: timedelta = timedelta(hours=1)

    def lock_for(self, failures: int) -> timedelta:
        if failures < self.threshold:
            return timedelta(0)
        doublings = min(failures - self.threshold, 30)
        return min(self.base_lock * (1 << doublings), self.max_lock)


@dataclass(frozen=True, slots=True)
class Store:
    client: DynamoDBClient
    table_name: str = DEFAULT_TABLE_NAME
    clock: Clock = field(default_factory=SystemClock)
    policy: SessionPolicy = field(default_factory=SessionPolicy)
    lockout: LockoutPolicy = field(default_factory=LockoutPolicy)


def to_attributes(values: dict[str, Any]) -> dict[str, Any]:
    """Plain Python values to DynamoDB JSON (None values are left out)."""
    return {k: _serializer.serialize(v) for k, v in values.items() if v is not None}


def from_attributes(attributes: dict[str, Any]) -> Item:
    return {k: _deserializer.deserialize(v) for k, v in attributes.items()}
