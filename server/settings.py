"""Settings from `SESSIONGRAPH_*` environment variables (pydantic-settings)."""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from dynamo.connect import ClientTimeouts, resolve_kind
from dynamo.store import DEFAULT_TABLE_NAME, LockoutPolicy, SessionPolicy
from resolvers.cpus import usable_cpus
from resolvers.passwords import QUEUE_PER_THREAD, Argon2Parameters
from schema.build import QueryLimits

MIN_PRODUCTION_ADMIN_TOKEN = 32


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SESSIONGRAPH_", extra="ignore")

    env: Literal["development", "production"] = "development"
    store: Literal["auto", "embedded", "endpoint", "aws"] = Field(
        "auto",
        description="auto: an endpoint if one is configured, else the embedded store",
    )
    endpoint_url: str | None = Field(
        None, description="DynamoDB endpoint; AWS_ENDPOINT_URL_DYNAMODB is read too"
    )
    table_name: str = DEFAULT_TABLE_NAME
    create_table: bool = Field(False, description="create the table at start if missing")
    admin_token: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    forwarded_allow_ips: str | None = Field(
        None,
        description=(
            "proxies (comma-separated IPs or networks, or *) whose X-Forwarded-For and "
            "X-Forwarded-Proto are trusted; unset: forwarded headers are ignored"
        ),
    )
    pool_size: int = Field(32, ge=1, le=512, description="boto3 connections = worker threads")

    idle_timeout_minutes: float = Field(30, gt=0)
    absolute_lifetime_hours: float = Field(12, gt=0)
    max_sessions_per_customer: int = Field(
        50, ge=0, description="past it, login ends the oldest other sessions; 0: no cap"
    )
    cleanup_in_request: int = Field(
        100, ge=0, le=1000, description="sessions logoutAll/changePassword delete before answering"
    )
    cleanup_max_items: int = Field(
        2000, ge=0, description="items one background clean-up run deletes at most"
    )
    cleanup_max_seconds: float = Field(
        30, gt=0, description="seconds one background clean-up run takes at most"
    )

    failed_login_threshold: int = Field(5, ge=1)
    failed_login_window_minutes: float = Field(15, gt=0)
    lockout_minutes: float = Field(1, gt=0, description="first lock; doubles per failure")
    max_lockout_minutes: float = Field(60, gt=0)

    argon2_threads: int | None = Field(
        None,
        ge=1,
        le=256,
        description="argon2 threads; default: the CPUs this process may use, shared among workers",
    )
    argon2_queue: int | None = Field(
        None, ge=0, description="password checks waiting beyond those running; past it RATE_LIMITED"
    )
    argon2_time_cost: int = Field(3, ge=1, description="argon2id passes")
    argon2_memory_kib: int = Field(65_536, ge=7_168, description="argon2id memory per hash")

    max_depth: int = Field(12, ge=1)
    max_aliases: int = Field(30, ge=0)
    max_tokens: int = Field(2000, ge=10)
    max_nodes: int = Field(
        10_000, ge=100, description="sessions one query may return: product of page sizes"
    )
    max_body_bytes: int = Field(65_536, ge=1024)
    execution_timeout_seconds: float = Field(10, gt=0)

    introspection: bool | None = Field(None, description="default: on, off in production")
    graphiql: bool | None = Field(None, description="default: on, off in production")
    allow_get: bool | None = Field(None, description="GET queries; default: on, off in production")
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="origins allowed to call from a browser, comma separated"
    )

    subscriptions_per_connection: int = Field(
        10, ge=1, description="subscriptions one WebSocket connection may run at once"
    )
    connections_per_session: int = Field(
        5, ge=1, description="WebSocket connections one session may hold (per server process)"
    )
    subscriptions_per_session: int = Field(
        10, ge=1, description="subscriptions one session may run at once (per server process)"
    )
    connection_init_timeout_seconds: float = Field(
        10, gt=0, description="a WebSocket without connection_init by then is closed (4408)"
    )
    events_poll_interval_seconds: float = Field(
        0.5, gt=0, description="engines without streams: how often subscribed keys are read"
    )
    log_level: str = "INFO"
    loop_lag_probe: bool = Field(
        False, description="benchmarks: sample event-loop lag, GET /debug/loop-lag reports it"
    )

    persisted_query_cache_size: int = Field(
        100,
        ge=0,
        description=(
            "Automatic Persisted Queries kept (LRU); 0 turns APQ off. A document at the token "
            "limit takes up to about 0.8 MB parsed"
        ),
    )
    trusted_documents: Path | None = Field(
        None, description="JSON file of sha256 hash -> document (GraphQL Codegen's format)"
    )
    trusted_documents_only: bool | None = Field(
        None, description="run only trusted documents; default: on in production with a list"
    )

    cookie_mode: bool = Field(
        False, description="browsers may log in with loginWithCookie (an HttpOnly session cookie)"
    )
    cookie_same_site: Literal["strict", "lax"] = Field(
        "strict", description="the session cookie's SameSite attribute"
    )
    example: bool | None = Field(
        None, description="the sample frontend at /example; default: on, off in production"
    )

    @property
    def trusted_documents_enforced(self) -> bool:
        if self.trusted_documents is None:
            return False
        return (
            self.production if self.trusted_documents_only is None else self.trusted_documents_only
        )

    # Operations (docs/operations.md).
    workers: int = Field(1, ge=1, le=64, description="worker processes (endpoint and AWS stores)")
    log_format: Literal["json", "text"] | None = Field(
        None, description="json or text; default: json in production, text otherwise"
    )
    access_log: bool = Field(
        True,
        description=(
            "a log line per HTTP request (`sessiongraph.access`, with the request's id, "
            "operation and duration), written by the app; off where metrics or a load "
            "balancer's log count requests already (bench/README.md measures its cost)"
        ),
    )
    metrics: bool | None = Field(None, description="/metrics; default: on, off in production")
    metrics_token: str | None = Field(None, description="bearer token /metrics requires, if set")
    dynamodb_connect_timeout_seconds: float = Field(1.0, gt=0)
    dynamodb_read_timeout_seconds: float = Field(2.0, gt=0)
    dynamodb_max_attempts: int = Field(3, ge=1, le=10, description="botocore attempts per call")
    readiness_timeout_seconds: float = Field(
        2.0, gt=0, description="/readyz: how long its read of the table may take"
    )
    readiness_cache_seconds: float = Field(1.0, ge=0, description="/readyz: answer reused for")
    graceful_shutdown_seconds: float = Field(
        20, gt=0, description="on SIGTERM: how long requests in flight may still run"
    )
    gc_young_threshold: int = Field(
        10_000,
        ge=0,
        description=(
            "objects allocated between two young-generation collections (Python's default "
            "is 700); 0 leaves the collector as Python sets it (server/heap.py)"
        ),
    )

    @field_validator(
        "forwarded_allow_ips", "trusted_documents", "metrics_token", "log_format", mode="before"
    )
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            value = [origin.strip().rstrip("/") for origin in value.split(",") if origin.strip()]
        if isinstance(value, list) and "*" in value:
            raise ValueError(
                '"*" is not allowed: list the frontends\' origins, e.g. '
                "SESSIONGRAPH_CORS_ORIGINS=https://app.example.com (the allow-list also decides "
                "which pages may use the session cookie, and credentials with * is refused by "
                "browsers and would let any site act as a logged-in user)"
            )
        return value

    @model_validator(mode="after")
    def _argon2_at_least_owasp(self) -> Settings:
        problems = self.argon2_parameters().problems()
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def argon2_parameters(self) -> Argon2Parameters:
        return Argon2Parameters(time_cost=self.argon2_time_cost, memory_kib=self.argon2_memory_kib)

    def argon2_pool_threads(self) -> int:
        """The CPUs this process may use, shared among the workers that run on them: two
        workers on two CPUs hash on one thread each, not two (four hashing threads on two
        CPUs only queue, measured in bench/README.md)."""
        return self.argon2_threads or max(1, math.ceil(usable_cpus() / self.workers))

    def argon2_queue_size(self) -> int:
        """Four per thread of `argon2_threads`, or per CPU this process may use: not divided
        among workers. The kernel spreads connections unevenly over the workers' shared
        socket; a worker given more than its share would refuse (`RATE_LIMITED`) while another
        worker's thread idles, and clients that retry at once turn that into a storm of
        refusals that takes the CPU from hashing (bench/README.md, third pass)."""
        if self.argon2_queue is not None:
            return self.argon2_queue
        return QUEUE_PER_THREAD * (self.argon2_threads or usable_cpus())

    def store_kind(self) -> Literal["embedded", "endpoint", "aws"]:
        """The store these settings open, `auto` resolved: the endpoint when one is configured
        (`endpoint_url` or `AWS_ENDPOINT_URL_DYNAMODB`), else the embedded store. The rule is
        `dynamo.connect.resolve_kind`, the one `connect` follows."""
        return resolve_kind(self.store, self.endpoint_url)

    @property
    def production(self) -> bool:
        return self.env == "production"

    def _default_on(self, value: bool | None) -> bool:
        return (not self.production) if value is None else value

    @property
    def introspection_enabled(self) -> bool:
        return self._default_on(self.introspection)

    @property
    def graphiql_enabled(self) -> bool:
        return self._default_on(self.graphiql)

    @property
    def get_enabled(self) -> bool:
        return self._default_on(self.allow_get)

    @property
    def example_enabled(self) -> bool:
        return self._default_on(self.example)

    @property
    def metrics_enabled(self) -> bool:
        return self._default_on(self.metrics)

    @property
    def log_format_resolved(self) -> Literal["json", "text"]:
        if self.log_format is not None:
            return self.log_format
        return "json" if self.production else "text"

    def client_timeouts(self) -> ClientTimeouts:
        return ClientTimeouts(
            connect_seconds=self.dynamodb_connect_timeout_seconds,
            read_seconds=self.dynamodb_read_timeout_seconds,
            max_attempts=self.dynamodb_max_attempts,
        )

    def production_problems(self, store_kind: str) -> list[str]:
        """Why these settings must not serve production traffic (empty when they may)."""
        if not self.production:
            return []
        problems = []
        if not self.admin_token or len(self.admin_token) < MIN_PRODUCTION_ADMIN_TOKEN:
            problems.append(
                f"SESSIONGRAPH_ADMIN_TOKEN must be set, at least {MIN_PRODUCTION_ADMIN_TOKEN} characters"
            )
        if store_kind == "embedded":
            problems.append(
                "the embedded in-memory store loses every session on restart: configure "
                "AWS_ENDPOINT_URL_DYNAMODB, --endpoint-url or --store aws"
            )
        return problems

    def lockout_policy(self) -> LockoutPolicy:
        return LockoutPolicy(
            threshold=self.failed_login_threshold,
            window=timedelta(minutes=self.failed_login_window_minutes),
            base_lock=timedelta(minutes=self.lockout_minutes),
            max_lock=timedelta(minutes=self.max_lockout_minutes),
        )

    def session_policy(self) -> SessionPolicy:
        return SessionPolicy(
            idle_timeout=timedelta(minutes=self.idle_timeout_minutes),
            absolute_lifetime=timedelta(hours=self.absolute_lifetime_hours),
            max_sessions_per_customer=self.max_sessions_per_customer or None,
        )

    def query_limits(self) -> QueryLimits:
        return QueryLimits(
            max_depth=self.max_depth,
            max_aliases=self.max_aliases,
            max_tokens=self.max_tokens,
            max_nodes=self.max_nodes,
            introspection=self.introspection_enabled,
        )
