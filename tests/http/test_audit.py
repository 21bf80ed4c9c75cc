"""The GraphQL-over-HTTP spec's reference audit (npm `graphql-http`, `auditServer`) against a real
`sessiongraph serve`: every audit ok, no warning.

Needs Node.js and `node_modules/graphql-http` (installed from package-lock.json by `npm ci`,
which `make test` runs through `make assets`). Skipped with the reason where either is missing;
under CI (`CI=true`) that is a failure instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.servers import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
AUDIT_SCRIPT = Path(__file__).with_name("audit.mjs")
AUDIT_TIMEOUT = 120.0
EXPECTED_AUDITS = 61
"""graphql-http 1.23.1's server audits (package-lock.json pins it)."""


def _unavailable_reason() -> str | None:
    if shutil.which("node") is None:
        return "no node on PATH: the graphql-http audit is skipped"
    if not (ROOT / "node_modules" / "graphql-http" / "package.json").is_file():
        return "node_modules/graphql-http is not installed (run `make assets`, i.e. `npm ci`)"
    return None


def _readable(failures: list[dict]) -> str:
    lines = []
    for failure in failures:
        lines.append(
            f"{failure['status'].upper()} {failure['id']} {failure['name']}: {failure['reason']}"
            f" (got {failure.get('responseStatus')} {failure.get('responseContentType')}:"
            f" {failure.get('responseBody', '')[:200]})"
        )
    return "\n".join(lines)


def test_the_graphql_over_http_audit_passes_with_no_warning():
    reason = _unavailable_reason()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the graphql-http audit: {reason}")
        pytest.skip(reason)
    with ServerProcess.start() as server:
        completed = subprocess.run(
            ["node", str(AUDIT_SCRIPT), f"{server.base_url}/graphql"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=AUDIT_TIMEOUT,
            check=False,
        )
    assert completed.returncode == 0, completed.stderr
    results = json.loads(completed.stdout)
    failures = [r for r in results if r["status"] != "ok"]
    assert not failures, f"{len(failures)} of {len(results)} audits not ok:\n" + _readable(failures)
    assert len(results) == EXPECTED_AUDITS
    assert len({r["id"] for r in results}) == EXPECTED_AUDITS
