"""docker-compose.yml, read as Compose would (there is no Docker engine here to run it)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from server.cli import build_parser
from server.settings import Settings

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    found: dict[str, Any] = compose["services"]
    return found


def _option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_two_services_dynamodb_local_from_the_official_image(services):
    assert set(services) == {"dynamodb-local", "sessiongraph"}
    ddb = services["dynamodb-local"]
    image, _, tag = ddb["image"].partition(":")
    assert image == "amazon/dynamodb-local"
    assert re.fullmatch(r"\d+\.\d+\.\d+", tag), "pin a version, not latest"
    command = ddb["command"]
    assert command[:2] == ["-jar", "DynamoDBLocal.jar"]
    assert "-inMemory" in command and "-disableTelemetry" in command
    assert ddb["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL")


def test_every_published_port_is_on_loopback_only(services):
    for name, service in services.items():
        for mapping in service.get("ports", []):
            host, host_port, container_port = str(mapping).split(":")
            assert host == "127.0.0.1", f"{name} publishes {mapping} beyond this machine"
            assert host_port.isdigit() and container_port.isdigit()


def test_the_server_is_built_here_and_serves_with_the_table_created(services):
    server = services["sessiongraph"]
    assert server["build"] == "."
    assert (REPO / "Dockerfile").is_file()
    args = build_parser().parse_args(server["command"])
    assert args.command == "serve" and args.create_table is True
    assert args.host == "0.0.0.0"  # inside the container; published on 127.0.0.1 only
    published = {m.split(":")[2] for m in server["ports"]}
    assert published == {str(args.port)}
    assert f"EXPOSE {args.port}" in (REPO / "Dockerfile").read_text()


def test_the_server_reaches_dynamodb_local_by_its_service_name(services):
    env = services["sessiongraph"]["environment"]
    endpoint = urlsplit(env["AWS_ENDPOINT_URL_DYNAMODB"])
    assert endpoint.hostname == "dynamodb-local"
    ddb_command = services["dynamodb-local"]["command"]
    assert str(endpoint.port) == _option(ddb_command, "-port")
    assert env["AWS_REGION"]
    assert env["AWS_ACCESS_KEY_ID"] and env["AWS_SECRET_ACCESS_KEY"]
    # Passed through from the shell when set (null), never an empty string: an empty admin
    # token would replace the generated one.
    assert env["SESSIONGRAPH_ADMIN_TOKEN"] is None
    known = {f"SESSIONGRAPH_{name.upper()}" for name in Settings.model_fields}
    assert {k for k in env if k.startswith("SESSIONGRAPH_")} <= known


def test_the_server_waits_for_a_healthy_dynamodb_local(services):
    depends = services["sessiongraph"]["depends_on"]
    assert depends == {"dynamodb-local": {"condition": "service_healthy"}}
    assert "healthcheck" in services["dynamodb-local"]
