"""Opaque cursors: any string either decodes to a key of the partition or is refused."""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dynamo.cursors import CURSOR_VERSION, decode_cursor, encode_cursor
from dynamo.errors import InvalidCursorError
from dynamo.keys import child_session_key, parent_session_key
from dynamo.limits import MAX_ID_LENGTH
from dynamo.sessions import get_child_sessions_by_session_id, get_sessions_by_customer_id


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _in_partition(pk: str, sk: str) -> bool:
    return pk == "suuid#s1" and sk.startswith("child#suuid#")


def test_a_cursor_decodes_to_the_key_it_was_made_from() -> None:
    key = child_session_key("s1", "k1d")
    cursor = encode_cursor(key)
    assert decode_cursor(cursor, _in_partition) == key


def test_a_cursor_is_opaque() -> None:
    cursor = encode_cursor(parent_session_key("secret-session", "alice"))
    assert "secret-session" not in cursor
    assert "alice" not in cursor
    assert cursor.replace("-", "").replace("_", "").isalnum()


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "x",
        "not a cursor!",
        "%%%%",
        "é🙂",
        _b64(b"\xff\xfe"),
        _b64(b'{"PK": "suuid#s1"}'),
        _b64(orjson.dumps(["k0", "suuid#s1", "child#suuid#a"])),
        _b64(orjson.dumps([CURSOR_VERSION, "suuid#s1"])),
        _b64(orjson.dumps([CURSOR_VERSION, "suuid#s1", ""])),
        _b64(orjson.dumps([CURSOR_VERSION, "suuid#s1", 7])),
        _b64(orjson.dumps([CURSOR_VERSION, "suuid#s2", "child#suuid#a"])),  # another list
        "A" * 5000,
    ],
)
def test_garbage_and_foreign_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(InvalidCursorError):
        decode_cursor(cursor, _in_partition)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
three_strings = st.tuples(
    st.sampled_from([CURSOR_VERSION, "k2", ""]),
    st.sampled_from(["suuid#s1", "suuid#s2", "c#alice", ""]) | st.text(),
    st.sampled_from(["child#suuid#k1", "c#alice", "child#x"]) | st.text(),
)
any_cursor = st.one_of(
    st.text(),
    st.text(st.sampled_from("ABCxyz019-_=+/"), max_size=40),
    st.binary().map(_b64),
    json_values.map(lambda v: _b64(orjson.dumps(v))),
    three_strings.map(lambda t: _b64(orjson.dumps(list(t)))),
)


@settings(max_examples=500, deadline=None)
@given(any_cursor)
def test_any_string_either_decodes_or_raises_invalid_cursor(cursor: str) -> None:
    try:
        key = decode_cursor(cursor, _in_partition)
    except InvalidCursorError:
        return
    assert set(key) == {"PK", "SK"}
    assert _in_partition(key["PK"], key["SK"])
    assert decode_cursor(encode_cursor(key), _in_partition) == key


valid_ids = st.text(
    st.characters(exclude_categories=("Cc", "Cs"), exclude_characters="#"),
    min_size=1,
    max_size=MAX_ID_LENGTH,
)


@settings(max_examples=200, deadline=None)
@given(valid_ids, valid_ids)
def test_every_cursor_the_server_can_issue_is_accepted_back(session_id: str, other: str) -> None:
    # The longest ids of 4-byte characters make the longest cursors.
    for key in (child_session_key(session_id, other), parent_session_key(session_id, other)):
        assert decode_cursor(encode_cursor(key), lambda pk, sk: True) == key


def test_the_longest_possible_cursor_is_accepted() -> None:
    longest = "🙂" * MAX_ID_LENGTH
    for key in (child_session_key(longest, longest), parent_session_key(longest, longest)):
        assert decode_cursor(encode_cursor(key), lambda pk, sk: True) == key


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(cursor=any_cursor)
def test_the_paginated_reads_refuse_bad_cursors_before_any_call(
    store: Any, calls: Any, cursor: str
) -> None:
    for read in (
        lambda: get_child_sessions_by_session_id(store, "s1", after=cursor),
        lambda: get_sessions_by_customer_id(store, "alice", after=cursor),
    ):
        calls.reset()
        try:
            read()
        except InvalidCursorError:
            assert calls.total == 0
        else:
            assert calls.of("Query") >= 1
