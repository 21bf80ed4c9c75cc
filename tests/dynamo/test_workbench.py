"""A table written by others (the AWS sample's shape), loaded from a NoSQL Workbench export."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from dynamo.customers import get_customer, register_customer
from dynamo.errors import ConflictError
from dynamo.lifecycle import expire_session
from dynamo.sessions import (
    get_child_session,
    get_child_session_by_child_session_id,
    get_child_sessions_by_session_id,
    get_last_login_time_by_customer_id,
    get_session_by_child_session_id,
    get_session_by_session_id,
    get_session_id_by_customer_id,
    get_sessions_by_customer_id,
    get_sessions_by_keys,
)
from dynamo.workbench import ModelFileError, load_model, read_model_items
from tests.conftest import SAMPLE_MODEL
from tests.dynamo.helpers import raw_partition


@pytest.fixture
def sample(store: Any) -> Any:
    assert load_model(store, SAMPLE_MODEL) == len(read_model_items(SAMPLE_MODEL))
    return store


def test_load_writes_every_item_in_batches(store: Any, calls: Any) -> None:
    items = read_model_items(SAMPLE_MODEL)
    calls.reset()
    assert load_model(store, SAMPLE_MODEL) == len(items) == 8
    # The items in one batch, and one conditional PutItem per customer (MNO, PQR, STU).
    assert calls.counts == {"BatchWriteItem": 1, "PutItem": 3}
    assert len(raw_partition(store, "suuid#a81kq2zz")) == 4


def test_load_gives_each_loaded_customer_an_item_so_nobody_can_register_as_them(
    store: Any, clock: Any
) -> None:
    register_customer(store, "PQR", "hash-of-pqr")  # a customer of ours already
    load_model(store, SAMPLE_MODEL)
    customers = [get_customer(store, c) for c in ("MNO", "PQR", "STU")]
    assert [(c.customer_id, c.password_hash) if c else None for c in customers] == [
        ("MNO", None),
        ("PQR", "hash-of-pqr"),
        ("STU", None),
    ]
    with pytest.raises(ConflictError, match="MNO"):
        register_customer(store, "MNO", "attacker-hash")
    # Loading again changes no customer item: the writes are conditional.
    clock.advance(timedelta(hours=1))
    load_model(store, SAMPLE_MODEL)
    assert [get_customer(store, c) for c in ("MNO", "PQR", "STU")] == customers


def test_a_foreign_parent_session_reads_with_zone_less_times_as_utc(sample: Any) -> None:
    session = get_session_by_session_id(sample, "a81kq2zz")
    assert session is not None
    assert session == get_session_by_session_id(sample, "a81kq2zz", "MNO")
    assert session.customer_id == "MNO"
    assert session.state == "active"
    assert session.access_token_hash == "x1y2z3w4"
    assert session.last_login_time == datetime(2024, 2, 3, 8, 15, tzinfo=UTC)
    assert session.expires_at is None
    assert session.created_at is None


def test_the_closing_state_is_read(sample: Any) -> None:
    session = get_session_by_session_id(sample, "b77tr5ee", "MNO")
    assert session is not None and session.state == "closing"
    child = get_child_session(sample, "a81kq2zz", "m3n4b5v6")
    assert child is not None and child.state == "closing"


def test_foreign_child_sessions_have_no_customer_unless_given(sample: Any) -> None:
    page = get_child_sessions_by_session_id(sample, "a81kq2zz")
    assert [c.session_id for c in page.records] == ["m3n4b5v6", "p0o9i8u7", "zx90cv12"]
    assert [c.state for c in page.records] == ["closing", "active", "active"]
    assert all(c.customer_id is None for c in page.records)
    assert all(c.parent_session_id == "a81kq2zz" for c in page.records)
    filled = get_child_sessions_by_session_id(sample, "a81kq2zz", customer_id="MNO")
    assert [c.customer_id for c in filled.records] == ["MNO"] * 3
    first = get_child_sessions_by_session_id(sample, "a81kq2zz", first=2)
    rest = get_child_sessions_by_session_id(sample, "a81kq2zz", after=first.end_cursor)
    assert (first.has_next_page, [c.session_id for c in rest.records]) == (True, ["zx90cv12"])


def test_a_foreign_child_leads_to_its_parent(sample: Any) -> None:
    child = get_child_session_by_child_session_id(sample, "q1w2e3r4")
    assert child is not None
    assert (child.parent_session_id, child.customer_id) == ("c09lk8jj", None)
    parent = get_session_by_child_session_id(sample, "q1w2e3r4")
    assert parent is not None
    assert (parent.session_id, parent.customer_id) == ("c09lk8jj", "PQR")
    assert get_session_by_child_session_id(sample, "p0o9i8u7") == get_session_by_session_id(
        sample, "a81kq2zz"
    )


def test_last_login_time_is_the_latest_not_the_last_key(sample: Any) -> None:
    # Random ids: b77tr5ee sorts after a81kq2zz but logged in two days earlier.
    assert get_last_login_time_by_customer_id(sample, "MNO") == datetime(
        2024, 2, 3, 8, 15, tzinfo=UTC
    )
    assert get_last_login_time_by_customer_id(sample, "PQR") == datetime(
        2023, 12, 24, 23, 59, 59, tzinfo=UTC
    )
    assert get_last_login_time_by_customer_id(sample, "XYZ") is None


def test_customer_reads_of_a_foreign_table(sample: Any) -> None:
    page = get_sessions_by_customer_id(sample, "MNO")
    assert [s.session_id for s in page.records] == ["b77tr5ee", "a81kq2zz"]
    assert page.has_next_page is False
    assert get_session_id_by_customer_id(sample, "PQR", "c09lk8jj") is not None
    assert get_session_id_by_customer_id(sample, "MNO", "c09lk8jj") is None
    keys = [
        {"PK": "suuid#d55gh3ff", "SK": "c#STU"},
        {"PK": "suuid#a81kq2zz", "SK": "child#suuid#zx90cv12"},
    ]
    found = get_sessions_by_keys(sample, keys)
    assert [r.session_id if r else None for r in found] == ["d55gh3ff", "zx90cv12"]


def test_items_without_expires_at_never_expire(sample: Any, clock: Any) -> None:
    clock.advance(timedelta(days=365 * 50))
    assert get_session_by_session_id(sample, "d55gh3ff", "STU") is not None
    assert len(get_child_sessions_by_session_id(sample, "a81kq2zz").records) == 3
    assert len(get_sessions_by_customer_id(sample, "MNO").records) == 2


def test_a_foreign_session_can_be_ended(sample: Any) -> None:
    ended = expire_session(sample, "a81kq2zz", "MNO")
    assert ended[0] == "a81kq2zz"
    assert sorted(ended[1:]) == ["m3n4b5v6", "p0o9i8u7", "zx90cv12"]
    assert raw_partition(sample, "suuid#a81kq2zz") == []
    assert get_last_login_time_by_customer_id(sample, "MNO") == datetime(
        2024, 2, 1, 19, 2, 44, tzinfo=UTC
    )


# -- files that are not a model ------------------------------------------------------------


def _model(items: list[Any], name: str = "session_store") -> dict[str, Any]:
    return {"DataModel": [{"TableName": name, "TableData": items}]}


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"not json at all", "cannot read"),
        (orjson.dumps({"hello": "world"}), "no DataModel"),
        (orjson.dumps([1, 2, 3]), "no DataModel"),
        (orjson.dumps({"DataModel": []}), "no DataModel"),
        (orjson.dumps({"DataModel": ["session_store"]}), "table"),
        (orjson.dumps({"DataModel": [{"TableName": "t", "TableData": {"a": 1}}]}), "TableData"),
        (orjson.dumps(_model([{"PK": {"S": "suuid#x"}}])), "item 0"),
        (orjson.dumps(_model([{"PK": {"N": "1"}, "SK": {"S": "c#a"}}])), "item 0"),
        (orjson.dumps(_model([{"PK": {"S": "suuid#x"}, "SK": {"S": "c#a"}}, "junk"])), "item 1"),
    ],
)
def test_a_file_that_is_not_a_model_raises_model_file_error(
    store: Any, calls: Any, tmp_path: Path, content: bytes, says: str
) -> None:
    path = tmp_path / "model.json"
    path.write_bytes(content)
    calls.reset()
    with pytest.raises(ModelFileError, match=says):
        load_model(store, path)
    assert calls.total == 0


def test_a_missing_file_raises_model_file_error(store: Any, tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="cannot read"):
        load_model(store, tmp_path / "absent.json")


def test_the_named_table_of_a_model_is_loaded(store: Any, tmp_path: Path) -> None:
    model = {
        "DataModel": [
            {"TableName": "other", "TableData": [{"PK": {"S": "suuid#o"}, "SK": {"S": "c#O"}}]},
            {"TableName": "mine", "TableData": [{"PK": {"S": "suuid#m"}, "SK": {"S": "c#M"}}]},
        ]
    }
    path = tmp_path / "two.json"
    path.write_bytes(orjson.dumps(model))
    assert load_model(store, path, "mine") == 1
    assert get_session_by_session_id(store, "m", "M") is not None
    assert get_session_by_session_id(store, "o", "O") is None
