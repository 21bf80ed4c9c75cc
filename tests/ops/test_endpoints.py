"""In process, on both backends: `/`, `/readyz`, `/metrics` (off in production unless enabled,
its own token), login outcomes, throttling after retries, bounded labels, quiet botocore."""

from __future__ import annotations

import logging
from typing import Any

from botocore.awsrequest import AWSResponse
from prometheus_client import REGISTRY
from starlette.testclient import TestClient

from dynamo.runner import BlockingCallRunner
from dynamo.store import Store
from resolvers import mutations
from server import metrics
from server.app import create_app
from server.logs import logging_config
from server.services import Services
from server.settings import Settings
from tests.support.api import ADMIN_TOKEN, CLIENT_ADDRESS, Api

METRICS_TOKEN = "metrics-token-for-tests-0123456789"


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_home_redirects_to_graphql(api: Api) -> None:
    response = api.client.get("/", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "/graphql"


def test_readyz_reads_the_table_once_per_cache_period(api: Api, calls) -> None:
    calls.reset()
    first = api.client.get("/readyz")
    second = api.client.get("/readyz")
    assert first.status_code == second.status_code == 200
    assert first.json() == {"status": "ready"}
    assert calls.counts == {"GetItem": 1}
    assert calls.params_of("GetItem")[0]["ConsistentRead"] is True


def test_readyz_names_a_missing_table(dynamodb_client, backend, settings) -> None:
    runner = BlockingCallRunner(1)
    services = Services(Store(client=dynamodb_client, table_name="no_such_table"), runner)
    with TestClient(create_app(settings, services)) as client:
        response = client.get("/readyz")
        assert client.get("/healthz").status_code == 200
    runner.close()
    assert response.status_code == 503
    assert "'no_such_table' does not exist" in response.json()["reason"]
    assert "--create-table" in response.json()["reason"]


def _production(services: Services, **overrides: Any) -> TestClient:
    settings = Settings(env="production", admin_token=ADMIN_TOKEN, **overrides)
    return TestClient(create_app(settings, services), client=CLIENT_ADDRESS)


def test_metrics_are_off_in_production_unless_enabled(services: Services) -> None:
    with _production(services) as client:
        assert client.get("/metrics").status_code == 404
    with _production(services, metrics=True) as client:
        response = client.get("/metrics")
        assert response.status_code == 200
        assert "sessiongraph_graphql_requests_total" in response.text


def test_metrics_can_require_their_own_token(services: Services) -> None:
    with _production(services, metrics=True, metrics_token=METRICS_TOKEN) as client:
        assert client.get("/metrics").status_code == 401
        wrong = client.get("/metrics", headers={"authorization": f"Bearer {ADMIN_TOKEN}"})
        assert wrong.status_code == 401
        right = client.get("/metrics", headers={"authorization": f"Bearer {METRICS_TOKEN}"})
        assert right.status_code == 200
        assert METRICS_TOKEN not in right.text


def test_logins_are_counted_by_the_outcome_the_context_reports(api: Api, monkeypatch) -> None:
    """Stands in for the password check's writer of `RequestContext.login_outcome`."""
    check = mutations._check_password

    async def reporting(ctx, customer_id, password):  # type: ignore[no-untyped-def]
        try:
            customer = await check(ctx, customer_id, password)
        except Exception:
            ctx.login_outcome = "bad_credentials"
            raise
        ctx.login_outcome = "success"
        return customer

    monkeypatch.setattr(mutations, "_check_password", reporting)
    success = _value("sessiongraph_logins_total", outcome="success")
    failed = _value("sessiongraph_logins_total", outcome="bad_credentials")
    api.register("carol")
    api.login("carol")
    api.login("carol")
    wrong = api(
        'mutation { login(customerId: "carol", password: "not the password") { accessToken } }'
    )
    assert wrong.codes == ["UNAUTHENTICATED"]
    assert _value("sessiongraph_logins_total", outcome="success") - success == 2
    assert _value("sessiongraph_logins_total", outcome="bad_credentials") - failed == 1


def _throttle(request: Any, **_: Any) -> AWSResponse:
    body = (
        b'{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"slow down"}'
    )

    class Raw:
        def stream(self, **_: Any) -> Any:
            yield body

    return AWSResponse(request.url, 400, {"x-amzn-requestid": "t"}, Raw())


def test_throttling_after_retries_is_store_unavailable_with_retry_after(
    api: Api, dynamodb_client, calls
) -> None:
    def throttled() -> float:
        return sum(
            _value("sessiongraph_dynamodb_calls_total", operation=op, outcome="throttled")
            for op in ("GetItem", "BatchGetItem", "Query")
        )

    before = throttled()
    attempts = []

    def throttle(**kwargs: Any) -> AWSResponse:
        attempts.append(1)
        return _throttle(**kwargs)

    events = dynamodb_client.meta.events
    events.register_first("before-send.dynamodb", throttle)  # before moto's own before-send
    try:
        response = api.client.post(
            "/graphql",
            json={"query": '{ customer(customerId: "dora") { customerId } }'},
            headers={"authorization": f"Bearer {ADMIN_TOKEN}"},
        )
    finally:
        events.unregister("before-send.dynamodb", throttle)
    body = response.json()
    assert [e["extensions"]["code"] for e in body.get("errors") or []] == ["STORE_UNAVAILABLE"], (
        body,
        calls.counts,
    )
    assert response.headers["retry-after"] == "1"
    assert len(attempts) > calls.total  # botocore retried before giving up
    assert throttled() - before == calls.total


def test_operation_name_labels_are_bounded(monkeypatch) -> None:
    monkeypatch.setattr(metrics, "_names_seen", set())
    assert metrics.operation_name_label(None) == ""
    assert metrics.operation_name_label("x" * 65) == "other"
    assert metrics.operation_name_label("with space") == "other"
    names = [f"Op{n}" for n in range(metrics.MAX_OPERATION_NAMES)]
    assert [metrics.operation_name_label(n) for n in names] == names
    assert metrics.operation_name_label("OneTooMany") == "other"
    assert metrics.operation_name_label("Op7") == "Op7"


def test_debug_logging_keeps_botocore_at_info() -> None:
    """botocore's DEBUG lines hold request bodies (password and token hashes)."""
    config = logging_config("json", "DEBUG")
    assert config["root"]["level"] == "DEBUG"
    for name in ("botocore", "boto3", "urllib3"):
        assert logging.getLevelName(config["loggers"][name]["level"]) == logging.INFO
