"""Access tokens: the item's key in the clear, a 256-bit secret, and only its hash stored.

`<base64url(JSON key)>.<secret>`: the key part lets the server find the session with one
read (never a Scan); the secret is checked against the stored SHA-256 hash in constant
time. A plain hash fits here (unlike passwords): the secret is 256 random bits, so there is
nothing to guess. A token whose key part names another session fails the hash check.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass

import orjson

from dynamo.errors import InvalidIdError
from dynamo.keys import validate_id

SECRET_BYTES = 32
MAX_TOKEN_LENGTH = 4096
"""Room for three 128-character ids of 4-byte characters, JSON- and base64-encoded."""


@dataclass(frozen=True, slots=True)
class TokenKey:
    """The session a token names: a parent, or a child with its parent's id."""

    session_id: str
    customer_id: str
    parent_session_id: str | None = None


def new_secret() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def secret_matches(secret: str, stored_hash: str | None) -> bool:
    return stored_hash is not None and hmac.compare_digest(hash_secret(secret), stored_hash)


def encode_token(key: TokenKey, secret: str) -> str:
    parts = (
        ["c", key.parent_session_id, key.session_id, key.customer_id]
        if key.parent_session_id is not None
        else ["p", key.session_id, key.customer_id]
    )
    encoded = base64.urlsafe_b64encode(orjson.dumps(parts)).decode("ascii").rstrip("=")
    return f"{encoded}.{secret}"


def decode_token(token: str) -> tuple[TokenKey, str] | None:
    """The key and secret a token carries, or None for anything malformed."""
    if not token or len(token) > MAX_TOKEN_LENGTH or token.count(".") != 1:
        return None
    encoded, secret = token.split(".")
    if len(secret) < 43:  # token_urlsafe(32) is 43 characters
        return None
    try:
        parts = orjson.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        return None
    if not isinstance(parts, list) or not all(isinstance(p, str) for p in parts):
        return None
    try:
        if len(parts) == 3 and parts[0] == "p":
            return TokenKey(validate_id(parts[1]), validate_id(parts[2])), secret
        if len(parts) == 4 and parts[0] == "c":
            key = TokenKey(validate_id(parts[2]), validate_id(parts[3]), validate_id(parts[1]))
            return key, secret
    except InvalidIdError:
        return None
    return None
