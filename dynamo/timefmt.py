"""Times as the table stores them: ISO-8601 strings and epoch seconds.

The AWS sample writes `2023-05-12T11:30:00` with no zone; such a value is read as UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal


def to_iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(value: object) -> datetime | None:
    """Parse a stored time; a zone-less value is UTC; anything unreadable is None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def to_epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def parse_epoch(value: object) -> datetime | None:
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return datetime.fromtimestamp(int(value), UTC)
    if isinstance(value, str):
        try:
            return datetime.fromtimestamp(int(Decimal(value)), UTC)
        except (ArithmeticError, ValueError):
            return None
    return None
