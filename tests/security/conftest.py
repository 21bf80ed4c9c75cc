"""Fixtures of the security tests: the app, a logged-in customer, and a cheap, counting argon2.

argon2 at the production profile takes about half a second a call on these machines; the
tests swap in the same algorithm at the lowest cost and count its calls. That the dummy hash
an unknown customer is checked against costs what a real hash costs is tested on the real
objects (test_brute_force.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from argon2 import PasswordHasher

from resolvers import passwords
from tests.security.helpers import PASSWORD
from tests.support.api import Api


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
def alice(api: Api) -> tuple[str, str]:
    """A registered customer `alice`, logged in: (token, session id)."""
    api.register("alice", PASSWORD)
    return api.login("alice", PASSWORD)
