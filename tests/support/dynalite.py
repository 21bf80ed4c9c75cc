"""Starts dynalite (from npm, in node_modules: `make assets` installs it): a DynamoDB
emulator with no streams, for the polling fallback of subscriptions."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.support.dynamodb_local import LocalEngine, start_engine

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


Dynalite = LocalEngine


def start() -> LocalEngine:
    from tests.support.servers import free_port

    port = free_port()
    command = [
        "node",
        str(CLI),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--createTableMs",
        "50",
    ]
    return start_engine("dynalite", command, port, STARTUP_TIMEOUT)
