"""Cookie mode through HTTP: the session in an HttpOnly cookie, its attributes, who may use it
(CSRF rules), and how it is cleared or dies with its session."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from dynamo.customers import get_customer
from dynamo.runner import BlockingCallRunner
from dynamo.store import SessionPolicy, Store
from resolvers.errors import INVALID_TOKEN
from resolvers.session_cookie import COOKIE_MODE_OFF
from server.app import create_app
from server.cookies import COOKIE_NAME, RULES
from server.services import Services
from server.settings import Settings
from tests.security.helpers import LOGIN, PASSWORD, VIEWER, moto_only
from tests.support.api import ADMIN_TOKEN, CLIENT_ADDRESS, Api

SITE = "https://testserver"
FRONTEND = "https://app.example.com"
EVIL = "https://evil.example"
LOGIN_WITH_COOKIE = (
    "mutation($c: String!, $p: String!) "
    "{ loginWithCookie(customerId: $c, password: $p) { session { sessionId } } }"
)
LOGOUT = "mutation($s: String) { logout(sessionId: $s) { endedSessionIds } }"
LOGOUT_ALL = "mutation { logoutAll { endedSessionIds } }"
CHANGE_PASSWORD = (
    "mutation($p: String!, $n: String!) "
    "{ changePassword(currentPassword: $p, newPassword: $n) { endedSessionIds } }"
)
REGISTER = (
    'mutation { registerCustomer(customerId: "mallory", password: "long enough") { customerId } }'
)


class Browser:
    """A TestClient that sends the session cookie only when told to, as `cookie=`, so that each
    test says exactly what a request carries."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.api = Api(client)

    def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        cookie: str | None = None,
        origin: str | None = SITE,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> Any:
        sent = {"content-type": content_type, **(headers or {})}
        if origin is not None:
            sent["origin"] = origin
        if cookie is not None:
            sent["cookie"] = f"{COOKIE_NAME}={cookie}"
        body = json.dumps({"query": query, "variables": variables or {}})
        response = self.client.post("/graphql", content=body, headers=sent)
        self.client.cookies.clear()  # the jar would resend what the server set: not wanted here
        return response

    def cookie_login(self, customer_id: str = "alice", **kwargs: Any) -> tuple[str, str]:
        """(the cookie's token, the session id)"""
        response = self.post(LOGIN_WITH_COOKIE, {"c": customer_id, "p": PASSWORD}, **kwargs)
        assert response.status_code == 200, response.text
        session_id = response.json()["data"]["loginWithCookie"]["session"]["sessionId"]
        return set_cookie(response)["value"], session_id


@contextmanager
def browser(
    store: Store, *, base_url: str = SITE, cookie_mode: bool = True, **settings: Any
) -> Iterator[Browser]:
    runner = BlockingCallRunner(1)
    try:
        app = create_app(
            Settings(admin_token=ADMIN_TOKEN, cookie_mode=cookie_mode, **settings),
            Services(store=store, runner=runner),
        )
        with TestClient(app, base_url=base_url, client=CLIENT_ADDRESS) as client:
            yield Browser(client)
    finally:
        runner.close()


@pytest.fixture
def web(store: Store) -> Iterator[Browser]:
    with browser(store) as web:
        web.api.register("alice", PASSWORD)
        web.api.register("bob", PASSWORD)
        yield web


def set_cookie(response: Any) -> dict[str, Any]:
    """The one Set-Cookie of `response`, parsed: name, value, and attributes (lower case)."""
    headers = response.headers.get_list("set-cookie")
    assert len(headers) == 1, headers
    first, *attributes = (part.strip() for part in headers[0].split(";"))
    name, value = first.split("=", 1)
    parsed: dict[str, Any] = {"name": name, "value": value}
    for attribute in attributes:
        key, _, val = attribute.partition("=")
        parsed[key.lower()] = val.lower() if val else True
    return parsed


def viewer(web: Browser, cookie: str) -> Any:
    return web.post(VIEWER, cookie=cookie)


def assert_cookie_works(web: Browser, cookie: str, session_id: str) -> None:
    response = viewer(web, cookie)
    assert response.json() == {"data": {"viewer": {"sessionId": session_id}}}
    assert "set-cookie" not in response.headers


def assert_cookie_refused_and_cleared(web: Browser, cookie: str) -> None:
    response = viewer(web, cookie)
    body = response.json()
    assert body["data"] == {"viewer": None}
    assert [(e["message"], e["extensions"]["code"]) for e in body["errors"]] == [
        (INVALID_TOKEN, "UNAUTHENTICATED")
    ]
    assert_clears(response)


def assert_clears(response: Any) -> None:
    cleared = set_cookie(response)
    assert cleared["name"] == COOKIE_NAME
    assert cleared["value"] in ("", '""')
    assert cleared["max-age"] == "0"
    # A browser only accepts a __Host- cookie, even to delete it, with these attributes.
    assert cleared["secure"] is True and cleared["path"] == "/"
    assert "domain" not in cleared


# --- the login and its cookie ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("same_site", "hours"), [("strict", 12), ("lax", 2)], ids=["default", "lax-2h"]
)
def test_a_cookie_login_sets_an_httponly_host_cookie_and_answers_no_token(
    store, same_site, hours, clock
):
    settings: dict[str, Any] = {"cookie_same_site": same_site, "absolute_lifetime_hours": hours}
    store = Store(
        client=store.client,
        table_name=store.table_name,
        clock=clock,
        policy=SessionPolicy(absolute_lifetime=timedelta(hours=hours)),
    )
    with browser(store, **settings) as web:
        web.api.register("alice", PASSWORD)
        response = web.post(LOGIN_WITH_COOKIE, {"c": "alice", "p": PASSWORD})
        assert response.status_code == 200
        body = response.json()
        session_id = body["data"]["loginWithCookie"]["session"]["sessionId"]
        cookie = set_cookie(response)
        assert cookie == {
            "name": "__Host-sessiongraph",
            "value": cookie["value"],
            "httponly": True,
            "secure": True,
            "samesite": same_site,
            "path": "/",
            "max-age": str(hours * 3600),
        }
        assert cookie["value"] not in response.text  # no readable token in the answer
        # What the cookie holds is the session's own token: it works as a bearer token too.
        assert web.api(VIEWER, token=cookie["value"]).ok() == {"viewer": {"sessionId": session_id}}
        assert_cookie_works(web, cookie["value"], session_id)


def test_the_cookie_never_outlives_the_absolute_lifetime(web, clock):
    token, session_id = web.cookie_login()
    clock.advance(timedelta(minutes=20))
    assert_cookie_works(web, token, session_id)  # use slides the idle deadline
    # A second login an hour later gets a cookie for its own, full lifetime.
    clock.advance(timedelta(hours=1))
    response = web.post(LOGIN_WITH_COOKIE, {"c": "bob", "p": PASSWORD})
    assert set_cookie(response)["max-age"] == str(12 * 3600)


def test_a_wrong_password_sets_no_cookie(web):
    response = web.post(LOGIN_WITH_COOKIE, {"c": "alice", "p": "not the password"})
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert response.json()["data"] is None
    assert "set-cookie" not in response.headers


@moto_only
def test_with_cookie_mode_off_a_cookie_login_is_refused_before_any_work(store, calls):
    with browser(store, cookie_mode=False) as web:
        web.api.register("alice", PASSWORD)
        calls.reset()
        response = web.post(LOGIN_WITH_COOKIE, {"c": "alice", "p": PASSWORD})
        assert response.json()["errors"][0]["message"] == COOKIE_MODE_OFF
        assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert "set-cookie" not in response.headers
        assert calls.total == 0
        # ... and a cookie someone holds from before is not read.
        token, _ = web.api.login("alice", PASSWORD)
        assert viewer(web, token).json() == {"data": {"viewer": None}}


@moto_only
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"origin": None}, RULES, id="no-origin"),
        pytest.param(
            {"base_url": "http://sessiongraph.example"},
            "cookie logins need HTTPS: browsers drop a Secure cookie sent over plain http "
            "(but to localhost); behind a TLS proxy, list it in "
            "SESSIONGRAPH_FORWARDED_ALLOW_IPS so that its X-Forwarded-Proto is trusted",
            id="plain-http-elsewhere",
        ),
    ],
)
def test_a_cookie_login_is_refused_where_a_browser_could_not_keep_it(store, calls, kwargs, message):
    base_url = kwargs.pop("base_url", SITE)
    origin = kwargs.pop("origin", base_url)
    with browser(store, base_url=base_url) as web:
        web.api.register("alice", PASSWORD)
        calls.reset()
        response = web.post(LOGIN_WITH_COOKIE, {"c": "alice", "p": PASSWORD}, origin=origin)
        error = response.json()["errors"][0]
        assert (error["message"], error["extensions"]["code"]) == (
            message.replace("carries the session cookie", "logs in with a cookie"),
            "FORBIDDEN",
        )
        assert "set-cookie" not in response.headers
        assert calls.total == 0  # no session was made


@moto_only
@pytest.mark.parametrize("base_url", ["http://localhost:8000", "http://127.0.0.1:8000"])
def test_plain_http_to_this_machine_gets_the_cookie(store, base_url):
    """Browsers treat localhost and 127.0.0.1 as secure: Chromium keeps the __Host- cookie
    there (the browser test shows it)."""
    with browser(store, base_url=base_url) as web:
        web.api.register("alice", PASSWORD)
        token, session_id = web.cookie_login(origin=base_url)
        response = web.post(VIEWER, cookie=token, origin=base_url)
        assert response.json() == {"data": {"viewer": {"sessionId": session_id}}}


# --- who may use the cookie (CSRF) -----------------------------------------------------------


def test_a_same_origin_json_post_authenticates_by_the_cookie(web):
    token, session_id = web.cookie_login()
    response = web.post(
        "{ viewer { sessionId customer { customerId sessions { edges { node { sessionId } } } } } }",
        cookie=token,
    )
    assert response.json()["data"]["viewer"] == {
        "sessionId": session_id,
        "customer": {
            "customerId": "alice",
            "sessions": {"edges": [{"node": {"sessionId": session_id}}]},
        },
    }


@moto_only
def test_an_authorization_header_wins_over_the_cookie(web):
    alice_cookie, _ = web.cookie_login("alice")
    bob_token, bob_session = web.api.login("bob", PASSWORD)
    response = web.post(
        VIEWER, cookie=alice_cookie, headers={"authorization": f"Bearer {bob_token}"}
    )
    assert response.json() == {"data": {"viewer": {"sessionId": bob_session}}}
    # Even from no Origin: a header is not something another site can make a browser send.
    response = web.post(
        VIEWER, cookie=alice_cookie, origin=None, headers={"authorization": f"Bearer {bob_token}"}
    )
    assert response.json() == {"data": {"viewer": {"sessionId": bob_session}}}


@moto_only
def test_a_get_never_authenticates_by_the_cookie(web, calls):
    token, session_id = web.cookie_login()
    calls.reset()
    response = web.client.get(
        "/graphql",
        params={"query": VIEWER},
        headers={"cookie": f"{COOKIE_NAME}={token}", "origin": SITE},
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"viewer": None}}
    assert calls.total == 0  # the token was not even looked up
    assert "set-cookie" not in response.headers
    assert_cookie_works(web, token, session_id)


@moto_only
@pytest.mark.parametrize(
    ("origin", "content_type", "status"),
    [
        pytest.param(None, "application/json", 403, id="no-origin"),
        pytest.param(SITE, "text/plain", 403, id="text-plain"),
        pytest.param(SITE, "application/x-www-form-urlencoded", 403, id="form"),
        pytest.param(EVIL, "application/json", 403, id="foreign-origin"),
        pytest.param("null", "text/plain", 403, id="sandboxed-origin"),
    ],
)
def test_a_cookie_post_breaking_the_rules_is_refused_before_graphql(
    web, calls, store, origin, content_type, status
):
    token, session_id = web.cookie_login()
    calls.reset()
    for query in (LOGOUT_ALL, REGISTER, VIEWER):
        response = web.post(query, cookie=token, origin=origin, content_type=content_type)
        assert response.status_code == status
        assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert "access-control-allow-origin" not in response.headers
    assert calls.total == 0
    assert_cookie_works(web, token, session_id)
    assert get_customer(store, "mallory") is None


@moto_only
def test_an_allow_listed_origin_may_use_the_cookie_with_credentials(store):
    with browser(store, cors_origins=[FRONTEND]) as web:
        web.api.register("alice", PASSWORD)
        preflight = web.client.options(
            "/graphql",
            headers={
                "origin": FRONTEND,
                "access-control-request-method": "POST",
                "access-control-request-headers": "content-type",
            },
        )
        assert preflight.headers["access-control-allow-origin"] == FRONTEND
        assert preflight.headers["access-control-allow-credentials"] == "true"
        token, session_id = web.cookie_login(origin=FRONTEND)
        response = web.post(VIEWER, cookie=token, origin=FRONTEND)
        assert response.json() == {"data": {"viewer": {"sessionId": session_id}}}
        assert response.headers["access-control-allow-credentials"] == "true"
        refused = web.post(VIEWER, cookie=token, origin=EVIL)
        assert refused.status_code == 403


@moto_only
def test_without_cookie_mode_cors_does_not_allow_credentials(store):
    with browser(store, cookie_mode=False, cors_origins=[FRONTEND]) as web:
        response = web.post(VIEWER, origin=FRONTEND)
        assert response.headers["access-control-allow-origin"] == FRONTEND
        assert "access-control-allow-credentials" not in response.headers


@moto_only
@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"origin": EVIL}, id="cross-site"),
        pytest.param({}, id="no-origin"),
        pytest.param({"origin": "null"}, id="sandboxed"),
    ],
)
def test_a_websocket_upgrade_with_the_cookie_from_elsewhere_is_refused(web, calls, headers):
    """Cross-site WebSocket hijacking: the browser sends the cookie with the upgrade, so an
    upgrade that carries it must come from an allowed Origin."""
    token, _ = web.cookie_login()
    calls.reset()
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        web.client.websocket_connect(
            "/graphql",
            subprotocols=["graphql-transport-ws"],
            headers={**headers, "cookie": f"{COOKIE_NAME}={token}"},
        ),
    ):
        pass
    assert refused.value.code == 1008
    assert calls.total == 0


# --- how the cookie ends ---------------------------------------------------------------------


def test_logout_of_the_cookie_session_clears_the_cookie_and_kills_its_token(web):
    token, session_id = web.cookie_login()
    response = web.post(LOGOUT, cookie=token)
    assert response.json() == {"data": {"logout": {"endedSessionIds": [session_id]}}}
    assert_clears(response)
    # A copy of the cookie kept from before (a replay) is refused, and cleared again.
    assert_cookie_refused_and_cleared(web, token)


def test_logout_all_clears_the_cookie(web):
    token, _ = web.cookie_login()
    web.cookie_login()
    response = web.post(LOGOUT_ALL, cookie=token)
    assert len(response.json()["data"]["logoutAll"]["endedSessionIds"]) == 2
    assert_clears(response)
    assert_cookie_refused_and_cleared(web, token)


@moto_only
def test_logging_out_another_session_keeps_the_cookie(web):
    token, session_id = web.cookie_login()
    other, other_id = web.cookie_login()
    child = web.post(
        'mutation { createChildSession(client: "shop") { session { sessionId } } }', cookie=token
    )
    child_id = child.json()["data"]["createChildSession"]["session"]["sessionId"]
    for ended in (child_id, other_id):
        response = web.post(LOGOUT, {"s": ended}, cookie=token)
        assert response.json()["data"]["logout"]["endedSessionIds"] == [ended]
        assert "set-cookie" not in response.headers
    assert_cookie_works(web, token, session_id)
    assert_cookie_refused_and_cleared(web, other)


@pytest.mark.parametrize("how", ["logout", "logoutAll", "changePassword"])
def test_a_session_ended_elsewhere_is_refused_and_cleared(web, how):
    """The token in the cookie is checked on every request like any token: however its session
    ends, the next request with the cookie is refused and the cookie cleared."""
    token, session_id = web.cookie_login()
    other, _ = web.api.login("alice", PASSWORD)  # another device, by bearer token
    if how == "logout":
        web.api(LOGOUT, {"s": session_id}, token=other).ok()
    elif how == "logoutAll":
        web.api(LOGOUT_ALL, token=other).ok()
    else:
        web.api(CHANGE_PASSWORD, {"p": PASSWORD, "n": "a new long password"}, token=other).ok()
    assert_cookie_refused_and_cleared(web, token)


def test_an_expired_session_is_refused_and_cleared(web, clock):
    token, session_id = web.cookie_login()
    clock.advance(timedelta(minutes=29))
    assert_cookie_works(web, token, session_id)
    clock.advance(timedelta(minutes=31))  # past the idle timeout of 30 minutes since last use
    assert_cookie_refused_and_cleared(web, token)


@moto_only
def test_a_bearer_token_refusal_sets_no_cookie(web):
    """Only a refused cookie is cleared; a refused Authorization header leaves cookies alone."""
    token, _ = web.cookie_login()
    web.post(LOGOUT, cookie=token)
    response = web.post(VIEWER, headers={"authorization": f"Bearer {token}"})
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "set-cookie" not in response.headers


@moto_only
def test_the_plain_login_is_unchanged_in_cookie_mode(web):
    response = web.post(LOGIN, {"c": "alice", "p": PASSWORD})
    assert response.json()["data"]["login"]["accessToken"]
    assert "set-cookie" not in response.headers


def test_a_session_ended_by_the_session_cap_is_refused_and_cleared(store, clock):
    capped = Store(
        client=store.client,
        table_name=store.table_name,
        clock=clock,
        policy=SessionPolicy(max_sessions_per_customer=1),
    )
    with browser(capped) as web:
        web.api.register("alice", PASSWORD)
        token, _ = web.cookie_login()
        clock.advance(timedelta(seconds=1))
        newer, newer_id = web.cookie_login()  # past the cap: the oldest session ends
        assert_cookie_refused_and_cleared(web, token)
        assert_cookie_works(web, newer, newer_id)


@moto_only
def test_a_login_over_a_dead_cookie_answers_one_set_cookie_the_new_one(web):
    """The dead cookie is refused (cleared) and the login sets a new one in the same response:
    the response carries only the last word."""
    stale, _ = web.cookie_login()
    web.post(LOGOUT, cookie=stale)
    response = web.post(LOGIN_WITH_COOKIE, {"c": "alice", "p": PASSWORD}, cookie=stale)
    session_id = response.json()["data"]["loginWithCookie"]["session"]["sessionId"]
    fresh = set_cookie(response)  # exactly one Set-Cookie
    assert fresh["max-age"] == str(12 * 3600)
    assert fresh["value"] != stale
    assert_cookie_works(web, fresh["value"], session_id)
