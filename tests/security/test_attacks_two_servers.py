"""Issue 7, defects 2 and 3, tried from outside the way an attacker would: two real
`sessiongraph serve` processes on one DynamoDB Local table, many concurrent HTTP clients.
Bounded: a fixed number of requests, each with a timeout.

The servers hash with OWASP's cheapest argon2id row (2 passes, 19 MiB) to keep the run short;
their queue is long enough that nothing is refused as RATE_LIMITED here.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import pytest

from dynamo.table import create_table
from dynamo.timefmt import parse_iso
from resolvers.mutations import WRONG_CREDENTIALS
from tests.support.api import ADMIN_TOKEN
from tests.support.servers import Response, ServerProcess, started

pytestmark = pytest.mark.dynamodb_local

PASSWORD = "correct horse battery"
THRESHOLD = 5
LOGIN = (
    "mutation($c: String!, $p: String) "
    "{ login(customerId: $c, password: $p) { accessToken session { sessionId } } }"
)
REGISTER = (
    "mutation($c: String!, $p: String!) "
    "{ registerCustomer(customerId: $c, password: $p) { customerId } }"
)
SSO_LOGIN = "mutation($c: String!) { login(customerId: $c) { session { createdAt } } }"
SESSIONS = (
    "query($c: String!) { customer(customerId: $c) "
    "{ sessions(first: 100) { edges { node { sessionId createdAt } } } } }"
)
SERVER_ENV = {
    "SESSIONGRAPH_ARGON2_TIME_COST": "2",
    "SESSIONGRAPH_ARGON2_MEMORY_KIB": "19456",
    "SESSIONGRAPH_ARGON2_THREADS": "2",
    "SESSIONGRAPH_ARGON2_QUEUE": "64",
    "SESSIONGRAPH_EXECUTION_TIMEOUT_SECONDS": "60",
}


@pytest.fixture(scope="module")
def table(dynamodb_local_server: Any) -> str:
    name = f"attacks_{os.getpid()}"
    create_table(dynamodb_local_server.client(), name)
    return name


@pytest.fixture(scope="module")
def servers(dynamodb_local_server: Any, table: str) -> Iterator[list[ServerProcess]]:
    first = ServerProcess.start(
        endpoint_url=dynamodb_local_server.endpoint_url,
        table_name=table,
        admin_token=ADMIN_TOKEN,
        env=SERVER_ENV,
    )
    try:
        second = ServerProcess.start(
            endpoint_url=dynamodb_local_server.endpoint_url,
            table_name=table,
            admin_token=ADMIN_TOKEN,
            env=SERVER_ENV,
        )
    except BaseException:
        first.stop()
        raise
    yield from started(first, second)


def at_once(requests: list[Callable[[], Response]]) -> list[Response]:
    """Send every request from its own client thread, released together by a barrier."""
    barrier = threading.Barrier(len(requests))

    def send(request: Callable[[], Response]) -> Response:
        barrier.wait(timeout=30)
        return request()

    with ThreadPoolExecutor(max_workers=len(requests)) as clients:
        return list(clients.map(send, requests, timeout=120))


def customer_item(dynamodb_local_server: Any, table: str, customer_id: str) -> dict[str, Any]:
    item = (
        dynamodb_local_server.client()
        .get_item(
            TableName=table,
            Key={"PK": {"S": f"c#{customer_id}"}, "SK": {"S": f"c#{customer_id}"}},
            ConsistentRead=True,
        )
        .get("Item")
    )
    assert item is not None
    return dict(item)


def _number(item: dict[str, Any], name: str) -> int:
    return int(item[name]["N"]) if name in item else 0


def _refused_alike(response: Response) -> None:
    assert response.status == 200, response.body
    assert response.codes == ["UNAUTHENTICATED"], response.body
    assert response.body["errors"][0]["message"] == WRONG_CREDENTIALS


def test_guesses_sent_at_once_to_two_servers_get_at_most_the_threshold_evaluated(
    servers: list[ServerProcess], dynamodb_local_server: Any, table: str
) -> None:
    first, second = servers
    first.graphql(REGISTER, {"c": "victim", "p": PASSWORD}).ok()

    guesses = [
        (
            lambda server=(first, second)[n % 2], n=n: server.graphql(
                LOGIN, {"c": "victim", "p": f"wrong guess {n}"}
            )
        )
        for n in range(24)
    ]
    for response in at_once(guesses):
        _refused_alike(response)
    item = customer_item(dynamodb_local_server, table, "victim")
    # Exactly the threshold reserved (and checked); the other 19 refused as locked, uncounted.
    assert (_number(item, "login_attempts"), _number(item, "failed_logins")) == (
        THRESHOLD,
        THRESHOLD,
    )
    assert _number(item, "locked_until") > 0

    # The right password, at once on both servers, does not get in while locked, and
    # is not counted either.
    rights = [lambda s=s: s.graphql(LOGIN, {"c": "victim", "p": PASSWORD}) for s in servers * 2]
    for response in at_once(rights):
        _refused_alike(response)
    item = customer_item(dynamodb_local_server, table, "victim")
    assert _number(item, "login_attempts") == THRESHOLD


def test_the_owner_and_24_guesses_at_once_never_get_more_than_the_threshold_checked(
    servers: list[ServerProcess], dynamodb_local_server: Any, table: str
) -> None:
    """The owner's right password races 24 wrong guesses. Whether or not it comes in among
    the first five, no more than the threshold of guesses is checked in any window: a
    success opens a new window, so at most five before it and five after."""
    first, second = servers
    first.graphql(REGISTER, {"c": "owner", "p": PASSWORD}).ok()
    requests = [
        (
            lambda server=(first, second)[n % 2], n=n: server.graphql(
                LOGIN, {"c": "owner", "p": f"wrong guess {n}"}
            )
        )
        for n in range(24)
    ]
    requests.insert(12, lambda: second.graphql(LOGIN, {"c": "owner", "p": PASSWORD}))
    responses = at_once(requests)
    owner = responses.pop(12)
    for response in responses:
        _refused_alike(response)
    item = customer_item(dynamodb_local_server, table, "owner")
    attempts = _number(item, "login_attempts")
    if owner.codes:
        _refused_alike(owner)
        assert attempts == THRESHOLD  # the owner came too late: refused, never checked
        assert _number(item, "locked_until") > 0
    else:
        # In time (even as the fifth, which set the lock): the owner got in, and the
        # success cleared what came before it, or took back only its own attempt.
        assert owner.ok()["login"]["accessToken"]
        assert attempts <= 2 * THRESHOLD  # one window before the owner's success, one after
        assert _number(item, "failed_logins") <= THRESHOLD


def test_registrations_racing_first_sso_logins_on_two_servers_never_take_over(
    servers: list[ServerProcess], dynamodb_local_server: Any, table: str
) -> None:
    """An attacker registers the ids an SSO platform is logging in for the first time, on
    the other server, at the same moment. Each registration either loses (CONFLICT: the
    SSO login wrote the customer first) or comes before any session of that customer:
    never in between, where it would set a password on an account with a live session."""
    first, second = servers
    ids = [f"sso-{n}" for n in range(12)]
    requests: list[Callable[[], Response]] = []
    for customer_id in ids:
        requests.append(
            lambda c=customer_id: first.graphql(
                SSO_LOGIN, {"c": c}, headers={"authorization": f"Bearer {ADMIN_TOKEN}"}
            )
        )
        requests.append(
            lambda c=customer_id: second.graphql(REGISTER, {"c": c, "p": "attacker's password"})
        )
    responses = at_once(requests)
    for index, customer_id in enumerate(ids):
        sso, registration = responses[2 * index], responses[2 * index + 1]
        assert sso.ok()["login"]["session"]["createdAt"], sso.body
        item = customer_item(dynamodb_local_server, table, customer_id)
        if registration.codes:
            assert registration.codes == ["CONFLICT"], registration.body
            assert "password_hash" not in item
            continue
        registered = parse_iso(item["created_at"]["S"])
        assert registered is not None and "password_hash" in item
        listed = first.graphql(
            SESSIONS, {"c": customer_id}, headers={"authorization": f"Bearer {ADMIN_TOKEN}"}
        ).ok()["customer"]["sessions"]["edges"]
        created: list[datetime | None] = [parse_iso(e["node"]["createdAt"]) for e in listed]
        assert created and all(c is not None and c >= registered for c in created), (
            customer_id,
            registered,
            created,
        )
