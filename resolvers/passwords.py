"""Password hashing with argon2id (argon2-cffi) on a bounded pool of its own.

The parameters and the pool are the process's (settings `SESSIONGRAPH_ARGON2_*`, applied
once at start by `configure`). argon2 is CPU- and memory-bound: it gets its own threads, so a
burst of logins cannot take the DynamoDB pool's, and a bounded queue, so a flood of logins is
refused at once (`RATE_LIMITED`) instead of making every login wait until the timeout.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from dynamo.runner import BoundedCallRunner, RunnerBusy
from resolvers.cpus import usable_cpus
from resolvers.errors import BadUserInput, RateLimited

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
DUMMY_PASSWORD = "sessiongraph-no-such-customer"
QUEUE_PER_THREAD = 4
"""Default queue: this many waiting password checks per argon2 thread."""
RATE_LIMITED_MESSAGE = (
    "too many password checks are waiting on this server right now; retry after a moment"
)

# OWASP Password Storage Cheat Sheet, argon2id with one lane: the least memory (KiB) for
# each time cost. Any of these rows is equally strong; fewer passes need more memory.
OWASP_MIN_MEMORY_KIB = {1: 47_104, 2: 19_456, 3: 12_288, 4: 9_216, 5: 7_168}


@dataclass(frozen=True, slots=True)
class Argon2Parameters:
    """argon2id costs. One lane (parallelism 1): the pool's threads are the parallelism, so
    one hash takes one core and N threads run N logins at once."""

    time_cost: int = 3
    memory_kib: int = 65_536
    parallelism: int = 1

    def problems(self) -> list[str]:
        """Why these are weaker than OWASP's argon2id minimum (empty when they are not)."""
        least = OWASP_MIN_MEMORY_KIB.get(min(self.time_cost, 5), 47_104)
        if self.time_cost < 1 or self.memory_kib < least:
            return [
                f"argon2 time cost {self.time_cost} needs at least {least} KiB of memory "
                "(OWASP's argon2id minimum: 47104 KiB at 1 pass, 19456 at 2, 12288 at 3, "
                "9216 at 4, 7168 at 5 or more)"
            ]
        return []


def new_hasher(parameters: Argon2Parameters) -> PasswordHasher:
    return PasswordHasher(
        time_cost=parameters.time_cost,
        memory_cost=parameters.memory_kib,
        parallelism=parameters.parallelism,
        type=Type.ID,
    )


_hasher = new_hasher(Argon2Parameters())
# Verified when the customer does not exist, so that an unknown id costs the same work.
_DUMMY_HASH = _hasher.hash(DUMMY_PASSWORD)
_pool = BoundedCallRunner(
    usable_cpus(), QUEUE_PER_THREAD * usable_cpus(), thread_name_prefix="argon2"
)


def configure(parameters: Argon2Parameters, *, threads: int, queue: int) -> None:
    """Set this process's argon2 parameters and pool (once, at start)."""
    global _hasher, _DUMMY_HASH, _pool
    _hasher = new_hasher(parameters)
    _DUMMY_HASH = _hasher.hash(DUMMY_PASSWORD)
    old, _pool = _pool, BoundedCallRunner(threads, queue, thread_name_prefix="argon2")
    old.close()


def password_hashing_runner() -> BoundedCallRunner:
    """This process's argon2 pool (its `pending` is what the metrics report)."""
    return _pool


@contextmanager
def hashing_slot() -> Iterator[BoundedCallRunner]:
    """A place in the argon2 queue for one request's password work, or `RateLimited` at once."""
    pool = _pool
    try:
        with pool.admission():
            yield pool
    except RunnerBusy as exc:
        raise RateLimited(RATE_LIMITED_MESSAGE) from exc


def check_password_rules(password: str) -> None:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise BadUserInput(
            f"password must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters long"
        )


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when `password` matches; a missing hash costs the same argon2 work as a real one.

    A hash made with other parameters (an older setting) still verifies: argon2 hashes
    carry their own parameters.
    """
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """The hash was made with other parameters than this process's."""
    try:
        return _hasher.check_needs_rehash(stored_hash)
    except (InvalidHashError, ValueError):
        return False
