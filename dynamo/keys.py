"""The key codec: building and parsing `suuid#`, `c#` and `child#suuid#` keys.

Every id that reaches a key goes through `validate_id` first: a `#` in an id would let a
caller address another item (`c#x` as a session id, say), so it is refused outright.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from dynamo.errors import InvalidIdError
from dynamo.limits import MAX_ID_LENGTH

SESSION_PREFIX = "suuid#"
CUSTOMER_PREFIX = "c#"
CHILD_PREFIX = "child#suuid#"
CHILD_SK_PREFIX = "child#"


_REFUSED = re.compile("[#\x00-\x1f\x7f-\x9f\ud800-\udfff]")
"""`#` and the characters of Unicode categories Cc (controls) and Cs (surrogates): one regex
search per id, where a loop over `unicodedata.category` cost a Python call per character."""


def validate_id(value: str, what: str = "id") -> str:
    """Return `value` if it can be used in a key, else raise `InvalidIdError` saying why."""
    if not isinstance(value, str):
        raise InvalidIdError(f"{what} must be a string")
    if not value:
        raise InvalidIdError(f"{what} must not be empty")
    if len(value) > MAX_ID_LENGTH:
        raise InvalidIdError(
            f"{what} is {len(value)} characters long; at most {MAX_ID_LENGTH} are allowed"
        )
    refused = _REFUSED.search(value)
    if refused is None:
        return value
    if "#" in value:
        raise InvalidIdError(f"{what} must not contain '#'")
    raise InvalidIdError(f"{what} must not contain control characters (found {refused.group()!r})")


def session_pk(session_id: str) -> str:
    return SESSION_PREFIX + validate_id(session_id, "sessionId")


def customer_key_part(customer_id: str) -> str:
    """`c#<id>`: the SK of a parent session and both keys of the customer item."""
    return CUSTOMER_PREFIX + validate_id(customer_id, "customerId")


def child_sk(child_session_id: str) -> str:
    return CHILD_PREFIX + validate_id(child_session_id, "childSessionId")


Key = dict[str, str]


def parent_session_key(session_id: str, customer_id: str) -> Key:
    return {"PK": session_pk(session_id), "SK": customer_key_part(customer_id)}


def child_session_key(parent_session_id: str, child_session_id: str) -> Key:
    return {"PK": session_pk(parent_session_id), "SK": child_sk(child_session_id)}


def customer_key(customer_id: str) -> Key:
    part = customer_key_part(customer_id)
    return {"PK": part, "SK": part}


@dataclass(frozen=True, slots=True)
class ParsedKey:
    """What an item is, read from its key; ids from foreign tables are taken as they are."""

    kind: Literal["parent", "child", "customer"]
    session_id: str | None
    customer_id: str | None
    parent_session_id: str | None


def parse_key(pk: str, sk: str) -> ParsedKey | None:
    """Classify an item by its keys; None for an item that is none of ours."""
    if pk.startswith(SESSION_PREFIX):
        session_id = pk[len(SESSION_PREFIX) :]
        if sk.startswith(CHILD_PREFIX):
            return ParsedKey("child", sk[len(CHILD_PREFIX) :], None, session_id)
        if sk.startswith(CUSTOMER_PREFIX):
            return ParsedKey("parent", session_id, sk[len(CUSTOMER_PREFIX) :], None)
        return None
    if pk.startswith(CUSTOMER_PREFIX) and pk == sk:
        return ParsedKey("customer", None, pk[len(CUSTOMER_PREFIX) :], None)
    return None
