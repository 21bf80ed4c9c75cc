"""The key codec: building and parsing keys, and refusing ids that could reach another key."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynamo.cleanup import sweep_customer
from dynamo.customers import get_customer, get_customers, record_login, register_customer
from dynamo.errors import InvalidIdError
from dynamo.keys import (
    ParsedKey,
    child_session_key,
    child_sk,
    customer_key,
    customer_key_part,
    parent_session_key,
    parse_key,
    session_pk,
    validate_id,
)
from dynamo.lifecycle import (
    create_child_session,
    expire_child_session,
    expire_session,
)
from dynamo.limits import MAX_ID_LENGTH
from dynamo.revocation import end_all_sessions
from dynamo.sessions import (
    create_session,
    get_child_session,
    get_child_session_by_child_session_id,
    get_child_sessions_by_session_id,
    get_last_login_time_by_customer_id,
    get_session_by_child_session_id,
    get_session_by_session_id,
    get_session_id_by_customer_id,
    get_sessions_by_customer_id,
)
from tests.dynamo.helpers import raw_partition

# -- building and parsing ---------------------------------------------------------------


def test_keys_of_every_kind_are_built_as_the_model_writes_them() -> None:
    assert session_pk("0190a1b2-c3d4") == "suuid#0190a1b2-c3d4"
    assert customer_key_part("alice") == "c#alice"
    assert child_sk("k1d") == "child#suuid#k1d"
    assert parent_session_key("s1", "alice") == {"PK": "suuid#s1", "SK": "c#alice"}
    assert child_session_key("s1", "k1d") == {"PK": "suuid#s1", "SK": "child#suuid#k1d"}
    assert customer_key("alice") == {"PK": "c#alice", "SK": "c#alice"}


@pytest.mark.parametrize(
    ("key", "parsed"),
    [
        (parent_session_key("s1", "alice"), ParsedKey("parent", "s1", "alice", None)),
        (child_session_key("s1", "k1d"), ParsedKey("child", "k1d", None, "s1")),
        (customer_key("alice"), ParsedKey("customer", None, "alice", None)),
    ],
)
def test_every_kind_of_key_parses_back(key: dict[str, str], parsed: ParsedKey) -> None:
    assert parse_key(key["PK"], key["SK"]) == parsed


@pytest.mark.parametrize(
    ("pk", "sk"),
    [
        ("c#alice", "c#bob"),  # a customer item is keyed c#<id> on both sides
        ("suuid#s1", "other#thing"),
        ("order#1", "c#alice"),
        ("", ""),
    ],
)
def test_keys_that_are_none_of_ours_parse_to_none(pk: str, sk: str) -> None:
    assert parse_key(pk, sk) is None


def test_an_id_of_exactly_the_maximum_length_is_accepted() -> None:
    longest = "x" * MAX_ID_LENGTH
    assert session_pk(longest) == "suuid#" + longest
    with pytest.raises(InvalidIdError, match=str(MAX_ID_LENGTH)):
        session_pk(longest + "x")


# -- hostile ids: refused with a clear message, before any DynamoDB call ------------------

HOSTILE_IDS = {
    "hash": ("a#b", "must not contain '#'"),
    "another key": ("c#x", "must not contain '#'"),
    "newline": ("line\nbreak", "control characters"),
    "nul": ("\x00", "control characters"),
    "surrogate": ("\ud800", "control characters"),
    "10k characters": ("x" * 10_000, f"at most {MAX_ID_LENGTH}"),
    "empty": ("", "must not be empty"),
}


def test_every_code_point_is_refused_exactly_when_it_is_a_control_a_surrogate_or_hash() -> None:
    """The one regex search and the rule it stands for (Unicode categories Cc and Cs, and
    `#`) agree on all of Unicode."""
    disagree = []
    for code in range(0x110000):
        char = chr(code)
        refused = char == "#" or unicodedata.category(char) in ("Cc", "Cs")
        try:
            validate_id(f"a{char}b")
        except InvalidIdError:
            accepted = False
        else:
            accepted = True
        if accepted == refused:
            disagree.append(hex(code))
    assert disagree == []


def test_a_value_that_is_not_a_string_is_refused() -> None:
    class Text(str):
        pass

    with pytest.raises(InvalidIdError, match="must be a string"):
        validate_id(42)  # type: ignore[arg-type]
    assert validate_id(Text("abc")) == "abc"  # a str subclass is a string


@pytest.mark.parametrize(("bad", "reason"), HOSTILE_IDS.values(), ids=HOSTILE_IDS.keys())
def test_validate_id_names_the_field_and_the_reason(bad: str, reason: str) -> None:
    with pytest.raises(InvalidIdError) as caught:
        validate_id(bad, "sessionId")
    message = str(caught.value)
    assert message.startswith("sessionId ")
    assert reason in message
    assert len(message) < 200  # a 10,000 character id is not echoed back


def _operations(store: Any, bad: str) -> dict[str, Callable[[], object]]:
    """Every storage entry point that takes an id, given the hostile id in each position."""
    return {
        "create_session(customer)": lambda: create_session(store, bad, token_hash="h"),
        "create_session(session)": lambda: create_session(
            store, "alice", token_hash="h", session_id=bad
        ),
        "get_session_by_session_id": lambda: get_session_by_session_id(store, bad),
        "get_session_by_session_id(+customer)": lambda: get_session_by_session_id(
            store, bad, "alice"
        ),
        "get_session_by_session_id(customer)": lambda: get_session_by_session_id(store, "s1", bad),
        "get_child_session(parent)": lambda: get_child_session(store, bad, "k1"),
        "get_child_session(child)": lambda: get_child_session(store, "s1", bad),
        "get_child_sessions_by_session_id": lambda: get_child_sessions_by_session_id(store, bad),
        "get_child_session_by_child_session_id": lambda: get_child_session_by_child_session_id(
            store, bad
        ),
        "get_session_by_child_session_id": lambda: get_session_by_child_session_id(store, bad),
        "get_last_login_time_by_customer_id": lambda: get_last_login_time_by_customer_id(
            store, bad
        ),
        "get_session_id_by_customer_id(customer)": lambda: get_session_id_by_customer_id(
            store, bad, "s1"
        ),
        "get_session_id_by_customer_id(session)": lambda: get_session_id_by_customer_id(
            store, "alice", bad
        ),
        "get_sessions_by_customer_id": lambda: get_sessions_by_customer_id(store, bad),
        "expire_session(session)": lambda: expire_session(store, bad, "alice"),
        "expire_session(customer)": lambda: expire_session(store, "s1", bad),
        "expire_child_session(parent)": lambda: expire_child_session(store, bad, "k1"),
        "expire_child_session(child)": lambda: expire_child_session(store, "s1", bad),
        "end_all_sessions": lambda: end_all_sessions(store, bad),
        "sweep_customer": lambda: sweep_customer(store, bad),
        "register_customer": lambda: register_customer(store, bad, "hash"),
        "get_customer": lambda: get_customer(store, bad),
        "get_customers": lambda: get_customers(store, ["alice", bad]),
        "record_login": lambda: record_login(store, bad, store.clock.now()),
    }


@pytest.mark.parametrize(("bad", "reason"), HOSTILE_IDS.values(), ids=HOSTILE_IDS.keys())
def test_hostile_ids_are_refused_before_any_dynamodb_call(
    store: Any, calls: Any, bad: str, reason: str
) -> None:
    parent = create_session(store, "alice", token_hash="h", session_id="s1")
    operations = _operations(store, bad)
    operations["create_child_session"] = lambda: create_child_session(
        store, parent, client="app", token_hash="h", child_session_id=bad
    )
    for name, operation in operations.items():
        calls.reset()
        with pytest.raises(InvalidIdError, match=reason):
            operation()
        assert calls.total == 0, f"{name} called DynamoDB ({dict(calls.counts)}) with {bad!r}"
    # Nothing was written either: the partition still holds only the session made above.
    assert [item["SK"] for item in raw_partition(store, "suuid#s1")] == ["c#alice"]


def test_unusual_but_valid_ids_are_stored_and_read_back(store: Any) -> None:
    customer = "José Müller 用户 🙂"
    session_id = "ünïcode-" + "é" * 100
    created = create_session(store, customer, token_hash="h", session_id=session_id)
    assert get_session_by_session_id(store, session_id, customer) == created
    assert get_session_by_session_id(store, session_id) == created
    page = get_sessions_by_customer_id(store, customer)
    assert [s.session_id for s in page.records] == [session_id]


# -- property: any text round-trips or is refused ------------------------------------------


def _should_be_refused(text: str) -> bool:
    return (
        not text
        or len(text) > MAX_ID_LENGTH
        or "#" in text
        or any(unicodedata.category(char) in ("Cc", "Cs") for char in text)
    )


any_text = st.one_of(
    st.text(),
    st.text(st.characters(exclude_categories=())),  # surrogates too
    st.text(st.sampled_from("ab#\n\x00\x7fé🙂 "), max_size=12),
    st.text(st.sampled_from("ab"), min_size=MAX_ID_LENGTH - 2, max_size=MAX_ID_LENGTH + 2),
)


@settings(max_examples=400, deadline=None)
@given(any_text)
def test_any_text_round_trips_through_the_keys_or_raises_invalid_id(text: str) -> None:
    try:
        pk = session_pk(text)
    except InvalidIdError:
        assert _should_be_refused(text)
        return
    assert not _should_be_refused(text)
    assert parse_key(pk, customer_key_part("alice")) == ParsedKey("parent", text, "alice", None)
    parent = parent_session_key("s1", text)
    assert parse_key(parent["PK"], parent["SK"]) == ParsedKey("parent", "s1", text, None)
    child = child_session_key("s1", text)
    assert parse_key(child["PK"], child["SK"]) == ParsedKey("child", text, None, "s1")
    customer = customer_key(text)
    assert parse_key(customer["PK"], customer["SK"]) == ParsedKey("customer", None, text, None)


@settings(max_examples=300, deadline=None)
@given(st.text(), st.text())
def test_parse_key_never_raises_on_foreign_keys(pk: str, sk: str) -> None:
    parsed = parse_key(pk, sk)
    if parsed is not None:
        assert parsed.kind in ("parent", "child", "customer")
        assert pk.startswith(("suuid#", "c#"))
