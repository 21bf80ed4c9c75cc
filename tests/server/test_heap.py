"""`server.heap.settle_heap`: the startup heap frozen, the young threshold raised, or nothing."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from server.heap import settle_heap


@pytest.fixture
def collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_the_startup_heap_is_frozen_and_the_young_threshold_raised(collector):
    gc.unfreeze()
    settle_heap(12_345)
    assert gc.get_threshold()[0] == 12_345
    assert gc.get_freeze_count() > 1000  # this test process's modules, at least


def test_zero_leaves_the_collector_as_python_set_it(collector):
    gc.unfreeze()
    before = gc.get_threshold()
    settle_heap(0)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
