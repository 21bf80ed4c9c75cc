"""Shared pieces of the security tests: apps built with given settings, and small checks."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from starlette.testclient import TestClient

from dynamo.runner import BlockingCallRunner
from dynamo.store import Store
from resolvers import passwords
from resolvers.errors import INVALID_TOKEN
from server.app import create_app
from server.services import Services
from server.settings import Settings
from tests.support.api import ADMIN_TOKEN, CLIENT_ADDRESS, Api, GraphQLResult

# The module's own argon2 objects, captured before the fixtures swap in a cheap hasher.
REAL_HASHER = passwords._hasher
REAL_DUMMY_HASH = passwords._DUMMY_HASH

PASSWORD = "correct horse battery"
SAME_ORIGIN = "http://testserver"

moto_only = pytest.mark.parametrize("backend", ["moto"], indirect=True)
"""For tests about the HTTP and GraphQL layers: the storage engine makes no difference there."""

POOL_SIZE = {"moto": 1, "dynamodb_local": 8}

VIEWER = "{ viewer { sessionId } }"
LOGOUT_ALL = "mutation { logoutAll { endedSessionIds } }"
LOGIN = (
    "mutation($c: String!, $p: String) "
    "{ login(customerId: $c, password: $p) { accessToken session { sessionId } } }"
)


@contextmanager
def serve(store: Store, *, pool_size: int = 1, **settings: Any) -> Iterator[Api]:
    """An app of its own over `store`, with these settings (the admin token by default)."""
    settings.setdefault("admin_token", ADMIN_TOKEN)
    runner = BlockingCallRunner(pool_size)
    try:
        app = create_app(Settings(**settings), Services(store=store, runner=runner))
        with TestClient(app, client=CLIENT_ADDRESS) as client:
            yield Api(client)
    finally:
        runner.close()


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def forge_token(parts: list[Any], secret: str | None = None) -> str:
    """A token in the server's format, built by hand as an attacker would."""
    encoded = b64(json.dumps(parts, separators=(",", ":")).encode())
    return f"{encoded}.{secret or secrets.token_urlsafe(32)}"


def key_part(token: str) -> str:
    return token.split(".")[0]


def secret_part(token: str) -> str:
    return token.split(".")[1]


def only_error(result: GraphQLResult) -> dict[str, Any]:
    assert len(result.errors) == 1, result.body
    return result.errors[0]


def assert_refused(
    result: GraphQLResult,
    code: str,
    message: str,
    *,
    data: Any = None,
    status: int = 200,
) -> None:
    """Exactly one error, with this code and message, and this `data`."""
    assert result.status == status, result.body
    error = only_error(result)
    assert error["message"] == message, result.body
    assert error.get("extensions", {}).get("code") == code, result.body
    assert result.data == data, result.body


def assert_token_refused(api: Api, token: str) -> None:
    """The token is no good: a read and a mutation both answer UNAUTHENTICATED."""
    assert_refused(
        api(VIEWER, token=token), "UNAUTHENTICATED", INVALID_TOKEN, data={"viewer": None}
    )
    assert_refused(api(LOGOUT_ALL, token=token), "UNAUTHENTICATED", INVALID_TOKEN)


def assert_token_works(api: Api, token: str, session_id: str) -> None:
    assert api(VIEWER, token=token).ok() == {"viewer": {"sessionId": session_id}}
