"""The garbage collector, set for a server whose heap is built once and then serves requests.

By the time the app serves, the process holds many objects that live as long as it does:
modules, botocore's service models, the Strawberry and graphql-core schemas. Python's cyclic
collector walks them again at every full collection. `settle_heap` collects once and moves
them to the permanent generation (`gc.freeze`), so collections only look at what requests
allocated; and it raises the young generation's threshold from Python's 700, so the
short-lived objects of a request are mostly freed by reference counting before a collection
promotes them. Measured in bench/README.md; `SESSIONGRAPH_GC_YOUNG_THRESHOLD=0` leaves the
collector as Python sets it.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger("sessiongraph")


def settle_heap(young_threshold: int) -> None:
    """Once per process, after the app is built and before it serves."""
    if young_threshold <= 0:
        return
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(young_threshold, middle, old)
    log.debug(
        "heap settled: %d objects frozen, thresholds %s", gc.get_freeze_count(), gc.get_threshold()
    )
