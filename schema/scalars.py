"""`DateTime`: every time the API prints, in one format.

Strawberry's stock `DateTime` prints `datetime.isoformat()`, so a time read with milliseconds
(`lastLoginTime`) and one read from epoch seconds (`expiresAt`) came out in two shapes. Here
every time prints as the table stores its ISO strings (`dynamo.timefmt.to_iso`): UTC,
milliseconds, `Z`, which is also what JavaScript's `Date.prototype.toISOString()` writes.
"""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry

from dynamo.timefmt import parse_iso, to_iso

DATETIME_DESCRIPTION = (
    "A moment in UTC, in ISO-8601 with milliseconds and a `Z`: `2026-05-12T11:30:00.000Z` (the "
    "format of JavaScript's `Date.prototype.toISOString()`; `new Date(value)` reads it). Times "
    "stored without a zone by other tools (the AWS sample data) are read as UTC."
)


def serialize_datetime(value: datetime) -> str:
    if value.tzinfo is None:  # every record's time is aware; a naive one is taken as UTC
        value = value.replace(tzinfo=UTC)
    return to_iso(value)


def parse_datetime(value: object) -> datetime:
    parsed = parse_iso(value)
    if parsed is None:
        raise ValueError(
            f"DateTime must be an ISO-8601 string such as 2026-05-12T11:30:00.000Z, got {value!r}"
        )
    return parsed


DATETIME = strawberry.scalar(
    name="DateTime",
    description=DATETIME_DESCRIPTION,
    specified_by_url="https://datatracker.ietf.org/doc/html/rfc3339",
    serialize=serialize_datetime,
    parse_value=parse_datetime,
)
"""For `StrawberryConfig(scalar_map={datetime: DATETIME})`: fields keep their `datetime` types."""
