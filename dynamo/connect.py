"""One configured boto3 client: the embedded in-memory store, an endpoint, or AWS itself."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import boto3
from botocore.config import Config

from dynamo.table import create_table

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

log = logging.getLogger(__name__)

StoreKind = Literal["embedded", "endpoint", "aws"]
DEFAULT_REGION = "us-east-1"
PLACEHOLDER_LINE = (
    "embedded in-memory store (moto): placeholder credentials, no AWS account or AWS "
    "credentials are used"
)


@dataclass(frozen=True, slots=True)
class Connection:
    client: DynamoDBClient
    kind: StoreKind
    max_concurrency: int
    """How many calls may run at once: the connection pool, or 1 for the embedded store."""
    _mock: Any = None
    streams: Any = None
    """A `dynamodbstreams` client on the same endpoint and credentials (dynamo.streams)."""

    def close(self) -> None:
        if self._mock is not None:
            self._mock.stop()


@dataclass(frozen=True, slots=True)
class ClientTimeouts:
    """How long one DynamoDB call may wait. The defaults keep a call to a frozen store
    (max_attempts x (connect + read) plus botocore's backoff) inside the default 10 s
    execution timeout, and free the pool thread soon after: botocore's own 60 s read
    timeout would keep threads on dead sockets long after the request gave up."""

    connect_seconds: float = 1.0
    read_seconds: float = 2.0
    max_attempts: int = 3
    """Attempts in all, the first one included (botocore's `total_max_attempts`)."""


def client_config(
    pool_size: int,
    *,
    ignore_configured_endpoints: bool = False,
    timeouts: ClientTimeouts | None = None,
) -> Config:
    timeouts = timeouts or ClientTimeouts()
    return Config(
        ignore_configured_endpoint_urls=ignore_configured_endpoints,  # type: ignore[call-arg]  # stubs lag botocore
        retries={"mode": "standard", "total_max_attempts": timeouts.max_attempts},
        max_pool_connections=pool_size,
        connect_timeout=timeouts.connect_seconds,
        read_timeout=timeouts.read_seconds,
        tcp_keepalive=True,
    )


def streams_config(pool_size: int, *, ignore_configured_endpoints: bool = False) -> Config:
    """The streams client's: regional endpoints, not the account-based ones botocore picks
    for a StreamArn (moto, the embedded store, answers only the regional one)."""
    return client_config(pool_size, ignore_configured_endpoints=ignore_configured_endpoints).merge(
        Config(account_id_endpoint_mode="disabled")
    )


def _region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


def connect_endpoint(
    endpoint_url: str | None = None,
    *,
    pool_size: int = 32,
    region: str | None = None,
    use_aws: bool = False,
    timeouts: ClientTimeouts | None = None,
) -> Connection:
    """A client for an endpoint (explicit, or `AWS_ENDPOINT_URL_DYNAMODB`), or for AWS itself
    (`use_aws`: the standard endpoint, whatever the environment says).

    An emulator accepts any credentials; when the standard chain has none, placeholder
    credentials are used so that DynamoDB Local works with nothing configured.
    """
    session = boto3.session.Session(region_name=region or _region())
    extra: dict[str, Any] = {}
    if not use_aws:
        endpoint_url = endpoint_url or os.environ.get("AWS_ENDPOINT_URL_DYNAMODB")
    if endpoint_url and not use_aws:
        extra["endpoint_url"] = endpoint_url
        if session.get_credentials() is None:
            log.info("no AWS credentials configured; using placeholders for %s", endpoint_url)
            extra |= {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
    config = client_config(pool_size, ignore_configured_endpoints=use_aws, timeouts=timeouts)
    client = session.client("dynamodb", config=config, **extra)
    streams = session.client(
        "dynamodbstreams",
        config=streams_config(pool_size, ignore_configured_endpoints=use_aws),
        **extra,
    )
    kind: StoreKind = "aws" if use_aws or not endpoint_url else "endpoint"
    return Connection(client=client, kind=kind, max_concurrency=pool_size, streams=streams)


def connect_embedded(table_name: str) -> Connection:
    """moto's in-process DynamoDB with the table created: for development and demos.

    moto's store is not thread-safe, so `max_concurrency` is 1: callers serialize on it.
    Its Query cost grows with the whole table; use DynamoDB Local for more data.
    """
    from moto import mock_aws

    mock = mock_aws()
    mock.start()
    # Explicit placeholders: botocore then looks up no credential chain (it used to find moto's
    # fake keys in the environment and log "Found credentials in environment variables").
    client = boto3.client(
        "dynamodb",
        region_name=_region(),
        config=client_config(1),
        aws_access_key_id="embedded",
        aws_secret_access_key="embedded",
    )
    log.info(PLACEHOLDER_LINE)
    streams = boto3.client(
        "dynamodbstreams",
        region_name=_region(),
        config=streams_config(1),
        aws_access_key_id="embedded",
        aws_secret_access_key="embedded",
    )
    create_table(client, table_name)
    return Connection(
        client=client, kind="embedded", max_concurrency=1, _mock=mock, streams=streams
    )


def resolve_kind(
    kind: Literal["auto", "embedded", "endpoint", "aws"], endpoint_url: str | None = None
) -> StoreKind:
    """`auto` is the endpoint when one is configured (argument or `AWS_ENDPOINT_URL_DYNAMODB`),
    else the embedded store; any other kind is itself."""
    if kind != "auto":
        return kind
    configured = endpoint_url or os.environ.get("AWS_ENDPOINT_URL_DYNAMODB")
    return "endpoint" if configured else "embedded"


def connect(
    kind: Literal["auto", "embedded", "endpoint", "aws"] = "auto",
    *,
    endpoint_url: str | None = None,
    table_name: str,
    pool_size: int = 32,
    timeouts: ClientTimeouts | None = None,
) -> Connection:
    """The one way in: the store `resolve_kind` names (the embedded one with the table created)."""
    kind = resolve_kind(kind, endpoint_url)
    if kind == "embedded":
        return connect_embedded(table_name)
    if kind == "endpoint":
        return connect_endpoint(endpoint_url, pool_size=pool_size, timeouts=timeouts)
    return connect_endpoint(None, pool_size=pool_size, use_aws=True, timeouts=timeouts)
