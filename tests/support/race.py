"""Deterministic races: hold one request at a named DynamoDB call while another runs.

    with paused(store.client, "PutItem", when=lambda p: p["Item"]["PK"]["S"].startswith("suuid#")) as pause:
        first = Background(lambda: api.login("alice"))   # runs until it reaches the PutItem
        pause.wait_reached()
        api.change_password(...)                          # the second request, start to end
        pause.release()
        result = first.result()                           # the first one resumes and finishes

The pause is a botocore event hook on the client (the store layer's own seam): `before` holds
the call before it is sent, `after` once its answer came back but before the caller sees it.
`when` picks the call by its API parameters. Only the first matching call is held (`times`
to hold more). No sleeps: each side waits on an event, with a timeout so a broken test fails
instead of hanging.

The held call parks a thread of the app's pool: give the app at least two threads (also on
moto; only one thread touches moto at a time while the other waits here).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

T = TypeVar("T")
WAIT_SECONDS = 30.0


class Pause:
    def __init__(self, when: Callable[[dict[str, Any]], bool], times: int) -> None:
        self.when = when
        self.left = times
        self.held = 0
        self._reached = threading.Event()
        self._released = threading.Event()
        self._lock = threading.Lock()

    def _claim(self, params: dict[str, Any]) -> bool:
        with self._lock:
            if self.left <= 0 or not self.when(params):
                return False
            self.left -= 1
            return True

    def _hold(self) -> None:
        with self._lock:
            self.held += 1
        self._reached.set()
        if not self._released.wait(WAIT_SECONDS):
            raise TimeoutError("a paused DynamoDB call was never released")

    def wait_reached(self, timeout: float = WAIT_SECONDS) -> None:
        if not self._reached.wait(timeout):
            raise AssertionError("no request reached the pause point")

    @property
    def reached(self) -> bool:
        return self._reached.is_set()

    def release(self) -> None:
        self._released.set()


@contextmanager
def paused(
    client: Any,
    operation: str,
    when: Callable[[dict[str, Any]], bool] = lambda params: True,
    *,
    after: bool = False,
    times: int = 1,
) -> Iterator[Pause]:
    """Hold the first call of `operation` (e.g. "PutItem") whose parameters match `when`; on
    any boto3 client (the table's, or its `dynamodbstreams` client: "ListStreams")."""
    pause = Pause(when, times)

    def pick(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if pause._claim(params):
            if after:
                context["sessiongraph_paused"] = True
            else:
                pause._hold()

    def hold_after(context: dict[str, Any], **_: Any) -> None:
        if context.pop("sessiongraph_paused", False):
            pause._hold()

    events = client.meta.events
    service = client.meta.service_model.service_id.hyphenize()  # dynamodb, dynamodb-streams
    events.register(f"before-parameter-build.{service}.{operation}", pick)
    if after:
        events.register(f"after-call.{service}.{operation}", hold_after)
    try:
        yield pause
    finally:
        pause.release()
        events.unregister(f"before-parameter-build.{service}.{operation}", pick)
        if after:
            events.unregister(f"after-call.{service}.{operation}", hold_after)


class Background(Generic[T]):
    """Runs `fn` in a thread; `result()` joins it and returns its value or raises its error."""

    def __init__(self, fn: Callable[[], T]) -> None:
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(fn,), daemon=True)
        self._thread.start()

    def _run(self, fn: Callable[[], T]) -> None:
        try:
            self._value = fn()
        except BaseException as exc:
            self._error = exc

    def result(self, timeout: float = WAIT_SECONDS) -> T:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError("the background request did not finish")
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]
