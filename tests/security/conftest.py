"""Fixtures of the security tests: the app, a logged-in customer, and a cheap, counting argon2.

argon2 at the production profile takes about half a second a call on these machines; the
tests swap in the same algorithm at the lowest cost and count its calls. That the dummy hash
an unknown customer is checked against costs what a real hash costs is tested on the real
objects (test_brute_force.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from argon2 import PasswordHasher
from starlette.testclient import TestClient

from dynamo.runner import BlockingCallRunner
from dynamo.store import Store
from resolvers import passwords
from server.app import create_app
from server.services import Services
from server.settings import Settings
from tests.security.helpers import CLIENT_ADDRESS, PASSWORD, POOL_SIZE
from tests.support.api import ADMIN_TOKEN, Api


class CountingHasher(PasswordHasher):
    """argon2id at the lowest cost, recording each hash it verifies."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.verified: list[str] = []
        self.hashed = 0

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        self.hashed += 1
        return super().hash(password, salt=salt)

    def verify(self, hash: str | bytes, password: str | bytes) -> Any:
        self.verified.append(hash if isinstance(hash, str) else hash.decode())
        return super().verify(hash, password)


@pytest.fixture(autouse=True)
def hasher(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    hasher = CountingHasher()
    dummy = hasher.hash("sessiongraph-no-such-customer")
    hasher.hashed = 0
    monkeypatch.setattr(passwords, "_hasher", hasher)
    monkeypatch.setattr(passwords, "_DUMMY_HASH", dummy)
    return hasher


@pytest.fixture
def settings() -> Settings:
    return Settings(admin_token=ADMIN_TOKEN)


@pytest.fixture
def services(store: Store, backend: str) -> Iterator[Services]:
    runner = BlockingCallRunner(POOL_SIZE[backend])
    yield Services(store=store, runner=runner)
    runner.close()


@pytest.fixture
def api(settings: Settings, services: Services) -> Iterator[Api]:
    with TestClient(create_app(settings, services), client=CLIENT_ADDRESS) as client:
        yield Api(client)


@pytest.fixture
def alice(api: Api) -> tuple[str, str]:
    """A registered customer `alice`, logged in: (token, session id)."""
    api.register("alice", PASSWORD)
    return api.login("alice", PASSWORD)
