"""Starts dynalite (from npm, in node_modules: `make assets` installs it): a DynamoDB
emulator with no streams, for the polling fallback of subscriptions."""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.config import Config

REPO = Path(__file__).resolve().parents[2]
CLI = REPO / "node_modules" / "dynalite" / "cli.js"
STARTUP_TIMEOUT = 30.0


def unavailable_reason() -> str | None:
    """Why dynalite cannot run here, or None when it can."""
    if shutil.which("node") is None:
        return "no node on PATH: the dynalite (polling fallback) tests are skipped"
    if not CLI.is_file():
        return f"dynalite not installed at {CLI} (run `make assets`)"
    return None


@dataclass
class Dynalite:
    process: subprocess.Popen[bytes]
    endpoint_url: str

    def client(self):  # type: ignore[no-untyped-def]
        return boto3.client(
            "dynamodb",
            endpoint_url=self.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
            config=Config(retries={"mode": "standard"}),
        )

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def start() -> Dynalite:
    from tests.support.servers import free_port

    port = free_port()
    process = subprocess.Popen(
        ["node", str(CLI), "--host", "127.0.0.1", "--port", str(port), "--createTableMs", "50"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    dynalite = Dynalite(process, f"http://127.0.0.1:{port}")
    client = dynalite.client()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        try:
            client.list_tables()
            return dynalite
        except Exception:
            if process.poll() is not None or time.monotonic() > deadline:
                dynalite.stop()
                raise RuntimeError(f"dynalite did not start on port {port}") from None
            time.sleep(0.1)  # polling a starting process, not a race
