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
class LocalEngine:
    """A DynamoDB-compatible engine we started (DynamoDB Local, dynalite), on 127.0.0.1."""

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
            self.process.wait(timeout=10)


DynamoDBLocal = LocalEngine


def start_engine(
    name: str, command: list[str], port: int, timeout: float, cwd: Path | None = None
) -> LocalEngine:
    """Start an engine on `port` and wait until it lists tables (stopped if it never does)."""
    process = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    engine = LocalEngine(process, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + timeout
    client = engine.client()
    while True:
        try:
            client.list_tables()
            return engine
        except Exception:
            if process.poll() is not None or time.monotonic() > deadline:
                engine.stop()
                raise RuntimeError(f"{name} did not start on port {port}") from None
            time.sleep(0.2)  # polling a starting process, not a race


def start() -> LocalEngine:
    directory = emulator_dir()
    port = _free_port()
    command = [
        "java",
        f"-Djava.library.path={directory / 'DynamoDBLocal_lib'}",
        "-jar",
        str(directory / "DynamoDBLocal.jar"),
        "-inMemory",
        "-disableTelemetry",
        "-port",
        str(port),
    ]
    return start_engine("DynamoDB Local", command, port, STARTUP_TIMEOUT, cwd=directory)
