"""Starts AWS's DynamoDB Local (from the npm package amplify-dynamodb-simulator) for a test run."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.config import Config

REPO = Path(__file__).resolve().parents[2]
DEFAULT_DIR = REPO / ".tools" / "dynamodb-local" / "package" / "emulator"
STARTUP_TIMEOUT = 60.0


def emulator_dir() -> Path:
    return Path(os.environ.get("SESSIONGRAPH_DYNAMODB_LOCAL_DIR", DEFAULT_DIR))


def unavailable_reason() -> str | None:
    """Why DynamoDB Local cannot run here, or None when it can."""
    if shutil.which("java") is None:
        return "no java on PATH: the DynamoDB Local half of the suite is skipped"
    if not (emulator_dir() / "DynamoDBLocal.jar").is_file():
        return f"DynamoDB Local not installed at {emulator_dir()} (run `make dynamodb-local`)"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class DynamoDBLocal:
    process: subprocess.Popen[bytes]
    endpoint_url: str

    def client(self, pool_size: int = 32):  # type: ignore[no-untyped-def]
        return boto3.client(
            "dynamodb",
            endpoint_url=self.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
            config=Config(retries={"mode": "standard"}, max_pool_connections=pool_size),
        )

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start() -> DynamoDBLocal:
    directory = emulator_dir()
    port = _free_port()
    process = subprocess.Popen(
        [
            "java",
            f"-Djava.library.path={directory / 'DynamoDBLocal_lib'}",
            "-jar",
            str(directory / "DynamoDBLocal.jar"),
            "-inMemory",
            "-disableTelemetry",
            "-port",
            str(port),
        ],
        cwd=directory,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    local = DynamoDBLocal(process, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + STARTUP_TIMEOUT
    client = local.client()
    while True:
        try:
            client.list_tables()
            return local
        except Exception:
            if process.poll() is not None or time.monotonic() > deadline:
                local.stop()
                raise RuntimeError(f"DynamoDB Local did not start on port {port}") from None
            time.sleep(0.2)
