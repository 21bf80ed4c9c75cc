"""Fixtures of the security tests: the app, a logged-in customer, and a cheap, counting argon2.

argon2 at the production profile takes about half a second a call on these machines; the
tests swap in the same algorithm at the lowest cost and count its calls. That the dummy hash
an unknown customer is checked against costs what a real hash costs is tested on the real
objects (test_brute_force.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from argon2 import PasswordHasher

from dynamo.runner import BoundedCallRunner
from resolvers import passwords
from tests.security.helpers import PASSWORD
from tests.support.api import Api

HOLD_SECONDS = 30.0


class HeldVerification:
    """Holds the verifications of one password inside argon2's thread until released: the
    point where a login has reserved its attempt and is checking the password. Use it in a
    `with` block inside the app's, so that a failing test releases it before the app stops."""

    def __init__(self, password: str) -> None:
        self.password = password
        self._arrived = threading.Semaphore(0)
        self._released = threading.Event()

    def hold(self) -> None:
        self._arrived.release()
        if not self._released.wait(HOLD_SECONDS):
            raise TimeoutError("a held argon2 verification was never released")

    def wait_reached(self, count: int = 1) -> None:
        for _ in range(count):
            if not self._arrived.acquire(timeout=HOLD_SECONDS):
                raise AssertionError(f"no verification of {self.password!r} reached argon2")

    def release(self) -> None:
        self._released.set()

    def __enter__(self) -> HeldVerification:
        return self

    def __exit__(self, *_: object) -> None:
        self.release()  # also when the test failed: nothing stays parked


class CountingHasher(PasswordHasher):
    """argon2id at the lowest cost, recording each hash it verifies; `hold(password)` parks
    the verifications of that password until released."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.verified: list[str] = []
        self.hashed = 0
        self.held: dict[str, HeldVerification] = {}

    def hold(self, password: str) -> HeldVerification:
        self.held[password] = HeldVerification(password)
        return self.held[password]

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        self.hashed += 1
        return super().hash(password, salt=salt)

    def verify(self, hash: str | bytes, password: str | bytes) -> Any:
        self.verified.append(hash if isinstance(hash, str) else hash.decode())
        held = self.held.get(password if isinstance(password, str) else password.decode())
        if held is not None:
            held.hold()
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
def argon2_pool(
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Callable[[int, int], BoundedCallRunner]]:
    """Give this process's argon2 pool `threads` threads and a queue of `queue`."""
    made: list[BoundedCallRunner] = []

    def make(threads: int, queue: int) -> BoundedCallRunner:
        pool = BoundedCallRunner(threads, queue, thread_name_prefix="argon2-test")
        made.append(pool)
        monkeypatch.setattr(passwords, "_pool", pool)
        return pool

    yield make
    for pool in made:
        pool.close()


@pytest.fixture
def alice(api: Api) -> tuple[str, str]:
    """A registered customer `alice`, logged in: (token, session id)."""
    api.register("alice", PASSWORD)
    return api.login("alice", PASSWORD)
