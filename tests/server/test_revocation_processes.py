"""Issue 7 from outside, the way an attacker would: two `sessiongraph serve` processes on one
DynamoDB Local table, many concurrent clients over real HTTP (bounded in count and time).

Defect 5: logins past the session cap. Defect 1: logins with the old password while the
password changes.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from dynamo.table import create_table
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.dynamodb_local

ADMIN = "admin-token-for-process-tests-0123456789"
CAP = 2
ROUNDS = 4
LOGINS_PER_ROUND = 4
TIME_BUDGET = 120.0
PASSWORD = "correct horse battery"
NEW_PASSWORD = "a brand new passphrase"
_tables = itertools.count()

SSO = "mutation($c: String!) { login(customerId: $c) { accessToken session { sessionId } } }"
LOGIN = (
    "mutation($c: String!, $p: String) "
    "{ login(customerId: $c, password: $p) { accessToken session { sessionId } } }"
)
VIEWER = "{ viewer { sessionId } }"
SESSIONS = "query($c: String!) { customer(customerId: $c) { sessions(first: 50) { edges { node { sessionId } } } } }"


def _two_servers(local: Any, env: dict[str, str]) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    table = f"revoke_processes_{os.getpid()}_{next(_tables)}"
    client = local.client()
    create_table(client, table)
    env = {"SESSIONGRAPH_POOL_SIZE": "8", **env}
    url = local.endpoint_url
    with (
        ServerProcess.start(endpoint_url=url, table_name=table, admin_token=ADMIN, env=env) as one,
        ServerProcess.start(endpoint_url=url, table_name=table, admin_token=ADMIN, env=env) as two,
    ):
        yield one, two
    client.delete_table(TableName=table)


@pytest.fixture
def servers(dynamodb_local_server: Any) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Two servers with a session cap of `CAP`."""
    yield from _two_servers(
        dynamodb_local_server, {"SESSIONGRAPH_MAX_SESSIONS_PER_CUSTOMER": str(CAP)}
    )


@pytest.fixture
def uncapped_servers(dynamodb_local_server: Any) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Two servers with no session cap (it would end the caller's oldest session) and a
    failed-login threshold above the burst (attempts in flight count towards it)."""
    yield from _two_servers(
        dynamodb_local_server,
        {
            "SESSIONGRAPH_MAX_SESSIONS_PER_CUSTOMER": "0",
            "SESSIONGRAPH_FAILED_LOGIN_THRESHOLD": "50",
            "SESSIONGRAPH_ARGON2_QUEUE": "32",
        },
    )


def _works(server: ServerProcess, token: str) -> bool:
    answer = server.graphql(VIEWER, token=token)
    assert answer.status == 200, answer.body
    if answer.codes:
        assert answer.codes == ["UNAUTHENTICATED"], answer.body
        return False
    return answer.data["viewer"] is not None


def test_concurrent_logins_past_the_cap_across_two_servers(
    servers: tuple[ServerProcess, ServerProcess],
) -> None:
    """Every login answers; each client checks its token the moment it has it. A token can
    only be dead by then if at least `CAP` newer sessions were handed out meanwhile (newer
    logins' passes); after each round the `CAP` newest sessions are the live ones."""
    started = time.monotonic()

    def login_and_check(n: int) -> tuple[str, str, bool]:
        server = servers[n % 2]
        data = server.graphql(SSO, {"c": "alice"}, token=ADMIN).ok()["login"]
        return (
            data["session"]["sessionId"],
            data["accessToken"],
            _works(server, data["accessToken"]),
        )

    with ThreadPoolExecutor(LOGINS_PER_ROUND) as pool:
        for _ in range(ROUNDS):
            assert time.monotonic() - started < TIME_BUDGET
            results = list(pool.map(login_and_check, range(LOGINS_PER_ROUND)))
            returned = sorted(session_id for session_id, _, _ in results)
            for session_id, _, worked in results:
                newer = [s for s in returned if s > session_id]
                assert worked or len(newer) >= CAP, (session_id, results)
            newest = {s: t for s, t, _ in results if s in returned[-CAP:]}
            for session_id, token in newest.items():
                assert _works(servers[0], token) and _works(servers[1], token), session_id
            listed = servers[1].graphql(SESSIONS, {"c": "alice"}, token=ADMIN).ok()
            ids = {e["node"]["sessionId"] for e in listed["customer"]["sessions"]["edges"]}
            assert set(newest) <= ids and len(ids) <= CAP + 1, (ids, returned)


def test_old_password_logins_during_a_change_all_end_across_two_servers(
    uncapped_servers: tuple[ServerProcess, ServerProcess],
) -> None:
    """Logins with the old password race a password change on the other server. Whatever
    the interleaving, once the change has answered no token they got may work: those made
    before it were ended by it, those written after it are of the old generation."""
    servers = uncapped_servers
    one, two = servers
    started = time.monotonic()
    one.graphql(
        "mutation($c: String!, $p: String!) { registerCustomer(customerId: $c, password: $p) { customerId } }",
        {"c": "bob", "p": PASSWORD},
    ).ok()
    caller = one.graphql(LOGIN, {"c": "bob", "p": PASSWORD}).ok()["login"]

    def old_login(n: int) -> str | None:
        answer = servers[n % 2].graphql(LOGIN, {"c": "bob", "p": PASSWORD})
        return None if answer.codes else answer.data["login"]["accessToken"]

    with ThreadPoolExecutor(4) as pool:
        logins = [pool.submit(old_login, n) for n in range(3)]
        change = pool.submit(
            one.graphql,
            "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) { endedSessionIds } }",
            {"c": PASSWORD, "n": NEW_PASSWORD},
            token=caller["accessToken"],
        )
        logins += [pool.submit(old_login, n) for n in range(3, 12)]
        change.result().ok()
        tokens = [t for t in (f.result() for f in logins) if t is not None]
    assert time.monotonic() - started < TIME_BUDGET
    assert tokens, "no login with the old password got through: the race did not happen"
    for token in tokens:
        assert not _works(one, token) and not _works(two, token)
    assert _works(two, caller["accessToken"])
    two.graphql(LOGIN, {"c": "bob", "p": NEW_PASSWORD}).ok()
