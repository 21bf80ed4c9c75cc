"""dynamo.connect: a configured client for an endpoint, and the embedded store."""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from dynamo.clock import ManualClock
from dynamo.connect import PLACEHOLDER_LINE, connect_embedded, connect_endpoint
from dynamo.sessions import create_session, get_session_by_session_id
from dynamo.store import Store
from dynamo.table import create_table


def _works(client: Any) -> None:
    name = f"connect_{uuid.uuid4().hex[:8]}"
    assert create_table(client, name) is True
    try:
        store = Store(client=client, table_name=name, clock=ManualClock())
        session = create_session(store, "alice", token_hash="h")
        assert get_session_by_session_id(store, session.session_id, "alice") == session
    finally:
        client.delete_table(TableName=name)


@pytest.mark.dynamodb_local
def test_connect_endpoint_gives_a_working_client_with_standard_retries(
    dynamodb_local_server: Any,
) -> None:
    url = dynamodb_local_server.endpoint_url
    connection = connect_endpoint(url, pool_size=8)
    assert connection.kind == "endpoint"
    assert connection.max_concurrency == 8
    config = connection.client.meta.config
    assert config.retries["mode"] == "standard"
    assert config.retries["total_max_attempts"] == 3  # ClientTimeouts: 3 attempts in all
    assert (config.connect_timeout, config.read_timeout) == (1.0, 2.0)
    assert config.max_pool_connections == 8
    assert connection.client.meta.endpoint_url == url
    _works(connection.client)


@pytest.mark.dynamodb_local
def test_connect_endpoint_reads_the_standard_variable_and_needs_no_credentials(
    dynamodb_local_server: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in list(os.environ):
        if name.startswith("AWS_") and name not in ("AWS_REGION", "AWS_DEFAULT_REGION"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_local_server.endpoint_url)
    connection = connect_endpoint()
    assert connection.kind == "endpoint"
    assert connection.client.meta.endpoint_url == dynamodb_local_server.endpoint_url
    _works(connection.client)


def test_use_aws_ignores_a_configured_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9")
    connection = connect_endpoint(use_aws=True, region="eu-west-1")
    assert connection.kind == "aws"
    assert connection.client.meta.endpoint_url == "https://dynamodb.eu-west-1.amazonaws.com"
    assert connection.client.meta.config.retries["mode"] == "standard"


def test_the_embedded_store_has_its_table_and_one_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB", raising=False)
    connection = connect_embedded("embedded_sessions")
    try:
        assert connection.kind == "embedded"
        assert connection.max_concurrency == 1
        table = connection.client.describe_table(TableName="embedded_sessions")["Table"]
        assert table["GlobalSecondaryIndexes"][0]["IndexName"] == "GSI1_inverse"
        store = Store(client=connection.client, table_name="embedded_sessions")
        session = create_session(store, "alice", token_hash="h")
        assert get_session_by_session_id(store, session.session_id) == session
    finally:
        connection.close()


def test_embedded_store_says_it_uses_placeholder_credentials(caplog: Any) -> None:
    """moto puts fake keys in the environment; botocore found them there and logged "Found
    credentials in environment variables", which reads as if the user's AWS keys were used."""
    with caplog.at_level(logging.DEBUG):
        connection = connect_embedded(f"embedded_{uuid.uuid4().hex[:8]}")
    try:
        messages = [r.getMessage() for r in caplog.records]
        assert not [m for m in messages if "Found credentials" in m]
        assert [m for m in messages if PLACEHOLDER_LINE in m]
        credentials = connection.client._request_signer._credentials  # what it signs with
        assert credentials.access_key == "embedded"
    finally:
        connection.close()
