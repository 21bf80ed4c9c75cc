"""Opaque pagination cursors, bound to the partition they were issued for.

A cursor is the key of the last item of a page. Decoding checks that key against the
partition being read, so a forged cursor cannot start a Query in another customer's data:
it is rejected with `InvalidCursorError`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable

import orjson

from dynamo.errors import InvalidCursorError

CURSOR_VERSION = "k1"
MAX_CURSOR_LENGTH = 2048
"""Room for the longest key a valid id makes (128 four-byte characters on both sides: ~1.4k)."""

Key = dict[str, str]


def encode_cursor(key: Key) -> str:
    payload = orjson.dumps([CURSOR_VERSION, key["PK"], key["SK"]])
    return base64.urlsafe_b64encode(payload).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, belongs: Callable[[str, str], bool]) -> Key:
    """Return the key a cursor names, if `belongs(pk, sk)` says it is of this partition."""
    if not isinstance(cursor, str) or not cursor or len(cursor) > MAX_CURSOR_LENGTH:
        raise InvalidCursorError("the cursor is empty or too long")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = orjson.loads(raw)
    except (binascii.Error, ValueError, orjson.JSONDecodeError) as exc:
        raise InvalidCursorError("the cursor is not one this server issued") from exc
    if (
        not isinstance(value, list)
        or len(value) != 3
        or value[0] != CURSOR_VERSION
        or not all(isinstance(part, str) and part for part in value[1:])
    ):
        raise InvalidCursorError("the cursor is not one this server issued")
    pk, sk = value[1], value[2]
    if not belongs(pk, sk):
        raise InvalidCursorError("the cursor belongs to another list")
    return {"PK": pk, "SK": sk}
