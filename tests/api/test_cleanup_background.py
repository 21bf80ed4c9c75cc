"""The background clean-up after a revocation: bounded by its budget, stopped at shutdown."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from starlette.testclient import TestClient

from dynamo.runner import BlockingCallRunner
from dynamo.sessions import create_session, get_sessions_by_customer_id
from dynamo.store import Store
from resolvers.cleanup import BackgroundCleanup
from server.app import create_app
from server.services import Services
from server.settings import Settings
from tests.support.api import ADMIN_TOKEN, CLIENT_ADDRESS, Api
from tests.support.race import Background, paused

LOGOUT_ALL = 'mutation { logoutAll(customerId: "alice") { endedSessionIds } }'


@contextmanager
def app(store: Store, **budget: Any) -> Iterator[tuple[Api, BackgroundCleanup, Any]]:
    runner = BlockingCallRunner(2)
    cleanup = BackgroundCleanup(store, runner, **budget)
    services = Services(store=store, runner=runner, cleanup=cleanup)
    try:
        with TestClient(
            create_app(Settings(admin_token=ADMIN_TOKEN), services), client=CLIENT_ADDRESS
        ) as client:
            yield Api(client), cleanup, client.portal
    finally:
        runner.close()


def _sessions(store: Store, count: int) -> None:
    for _ in range(count):
        create_session(store, "alice", token_hash="h", generation=0)


def test_the_background_clean_up_stops_at_its_item_budget(store: Store) -> None:
    _sessions(store, 12)
    with app(store, in_request=0, max_items=5) as (api, cleanup, portal):
        assert api.admin(LOGOUT_ALL).ok() == {"logoutAll": {"endedSessionIds": []}}
        portal.call(cleanup.wait_idle)
        customer, result = cleanup.results[-1]
        assert customer == "alice" and not result.complete
        assert 5 <= result.deleted <= 6  # checked between sessions: one session's items over
        left = get_sessions_by_customer_id(store, "alice", first=20).records
        assert len(left) == 12 - result.deleted


def test_shutdown_stops_a_running_clean_up_and_refuses_new_work(store: Store) -> None:
    _sessions(store, 12)
    listing = lambda p: p.get("IndexName") == "GSI1_inverse"  # noqa: E731
    with app(store, in_request=0) as (api, cleanup, portal):
        with paused(store.client, "Query", when=listing) as pause:
            api.admin(LOGOUT_ALL).ok()
            pause.wait_reached()  # the background sweep is running, held at its listing
            closing = Background(lambda: portal.call(cleanup.close))
            pause.release()
            closing.result()
        _, result = cleanup.results[-1]
        assert not result.complete and result.deleted <= 1
        assert portal.call(_schedule, cleanup) is False


async def _schedule(cleanup: BackgroundCleanup) -> bool:
    return cleanup.schedule("alice", [])
