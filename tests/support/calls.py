"""Counts DynamoDB API calls made through a client, by operation, from botocore's events."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any


class CallCounter:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.log: list[tuple[str, dict[str, Any]]] = []
        self.in_flight = 0
        self.max_in_flight: Counter[str] = Counter()
        self._lock = threading.Lock()

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-parameter-build.dynamodb", self._record_params)
        client.meta.events.register("before-call.dynamodb", self._before)
        client.meta.events.register("after-call.dynamodb", self._after)
        client.meta.events.register("after-call-error.dynamodb", self._after_error)

    def _record_params(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        """The call's API parameters (TableName, IndexName, ...), before serialization."""
        with self._lock:
            self.log.append((model.name, dict(params)))

    def _before(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.counts[model.name] += 1
            self.in_flight += 1
            self.max_in_flight[model.name] = max(self.max_in_flight[model.name], self.in_flight)

    def _after(self, **_: Any) -> None:
        with self._lock:
            self.in_flight -= 1

    def _after_error(self, **_: Any) -> None:
        self._after()

    def reset(self) -> None:
        with self._lock:
            self.counts.clear()
            self.log.clear()
            self.max_in_flight.clear()

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def of(self, operation: str) -> int:
        return self.counts[operation]

    def params_of(self, operation: str) -> list[dict[str, Any]]:
        return [params for name, params in self.log if name == operation]
