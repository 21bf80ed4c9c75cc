"""Session deadlines: an idle timeout that slides with use, under an absolute lifetime."""

from __future__ import annotations

from datetime import datetime

from dynamo.store import SessionPolicy


def absolute_deadline(created_at: datetime, policy: SessionPolicy) -> datetime:
    return created_at + policy.absolute_lifetime


def session_deadline(
    created_at: datetime,
    last_access: datetime,
    policy: SessionPolicy,
    cap: datetime | None = None,
) -> datetime:
    """When a session ends if unused: idle deadline, never past its (or its parent's) lifetime."""
    deadline = min(last_access + policy.idle_timeout, absolute_deadline(created_at, policy))
    return min(deadline, cap) if cap is not None else deadline


def needs_touch(last_access: datetime | None, now: datetime, policy: SessionPolicy) -> bool:
    """Use slides the idle deadline, written at most once per `touch_interval`."""
    return last_access is None or now - last_access >= policy.touch_interval
