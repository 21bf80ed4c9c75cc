"""Every time the API prints has one format: UTC, milliseconds, `Z` (as `toISOString()`)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from schema.scalars import parse_datetime, serialize_datetime

ISO_MILLIS_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
TIMES = "createdAt lastLoginTime lastAccessTime expiresAt"


def test_every_time_field_prints_in_one_format(api, clock):
    # A login at a moment with microseconds: stored times keep milliseconds, while
    # `expiresAt` comes from epoch seconds. Both used to print differently.
    clock.set(clock.now().replace(microsecond=123_456))
    login_at = clock.now()
    api.register("tess")
    token, _ = api.login("tess")
    clock.advance(timedelta(minutes=2))  # past the touch interval: lastAccessTime is rewritten
    api.child(token, "shop")

    data = api(
        f"{{ viewer {{ {TIMES} customer {{ lastLoginTime }} "
        f"childSessions {{ edges {{ node {{ createdAt lastAccessTime expiresAt }} }} }} }} }}",
        token=token,
    ).ok()
    viewer = data["viewer"]
    child = viewer["childSessions"]["edges"][0]["node"]
    printed = {
        **{f"viewer.{k}": viewer[k] for k in TIMES.split()},
        "customer.lastLoginTime": viewer["customer"]["lastLoginTime"],
        **{f"child.{k}": v for k, v in child.items()},
    }
    assert {k: v for k, v in printed.items() if not ISO_MILLIS_Z.match(v or "")} == {}
    assert viewer["lastLoginTime"] == "{}.123Z".format(login_at.strftime("%Y-%m-%dT%H:%M:%S"))
    assert viewer["customer"]["lastLoginTime"] == viewer["lastLoginTime"]
    assert viewer["expiresAt"].endswith(".000Z")  # epoch seconds in the table


@pytest.mark.parametrize(
    ("value", "printed"),
    [
        (datetime(2026, 5, 12, 11, 30, tzinfo=UTC), "2026-05-12T11:30:00.000Z"),
        (datetime(2026, 5, 12, 11, 30, 0, 999_999, tzinfo=UTC), "2026-05-12T11:30:00.999Z"),
        (datetime(2026, 5, 12, 11, 30), "2026-05-12T11:30:00.000Z"),  # naive: taken as UTC
        (
            datetime.fromisoformat("2026-05-12T13:30:00+02:00"),
            "2026-05-12T11:30:00.000Z",
        ),
    ],
)
def test_serializer(value, printed):
    assert serialize_datetime(value) == printed
    assert parse_datetime(printed) == value.replace(
        microsecond=value.microsecond // 1000 * 1000
    ).replace(tzinfo=value.tzinfo or UTC)


def test_parser_refuses_what_is_not_a_time():
    with pytest.raises(ValueError, match="ISO-8601"):
        parse_datetime("yesterday")
