"""Password hashing with argon2id (argon2-cffi), run off the event loop by callers."""

from __future__ import annotations

import functools
import os

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from dynamo.runner import BlockingCallRunner
from resolvers.errors import BadUserInput

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024

_hasher = PasswordHasher()  # argon2id, argon2-cffi's RFC 9106 low-memory profile
# Verified when the customer does not exist, so that an unknown id costs the same work.
_DUMMY_HASH = _hasher.hash("sessiongraph-no-such-customer")


@functools.cache
def password_hashing_runner() -> BlockingCallRunner:
    """argon2 is CPU- and memory-bound (about 64 MiB a hash): it gets its own pool, one
    thread per core, so that a burst of logins cannot take the DynamoDB pool's threads."""
    return BlockingCallRunner(max(1, os.cpu_count() or 1))


def check_password_rules(password: str) -> None:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise BadUserInput(
            f"password must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters long"
        )


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when `password` matches; a missing hash costs the same argon2 work as a real one."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False
