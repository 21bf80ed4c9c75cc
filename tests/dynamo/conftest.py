"""Fixtures of the storage tests.

`clock` starts at a fixed moment far in the future of the real clock. DynamoDB Local (2.x) does run TTL
deletion, within a second, for an item whose `expires_at` is before the *real* time; with a
test clock in the real past, every session the tests write would vanish underneath them (and
the tests could not tell "hidden by our reads" from "deleted by the engine"). Keeping every
`expires_at` in the real future means only our reads decide what is expired.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dynamo.clock import ManualClock

TEST_EPOCH = datetime(2100, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(TEST_EPOCH)
