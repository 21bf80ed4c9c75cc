"""Settings from `SESSIONGRAPH_*` environment variables (pydantic-settings)."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from dynamo.store import DEFAULT_TABLE_NAME, SessionPolicy
from schema.build import QueryLimits


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
    pool_size: int = Field(32, ge=1, le=512, description="boto3 connections = worker threads")

    idle_timeout_minutes: float = Field(30, gt=0)
    absolute_lifetime_hours: float = Field(12, gt=0)
    max_sessions_per_customer: int | None = Field(None, ge=1)

    max_depth: int = Field(12, ge=1)
    max_aliases: int = Field(30, ge=0)
    max_tokens: int = Field(2000, ge=10)
    log_level: str = "INFO"

    def session_policy(self) -> SessionPolicy:
        return SessionPolicy(
            idle_timeout=timedelta(minutes=self.idle_timeout_minutes),
            absolute_lifetime=timedelta(hours=self.absolute_lifetime_hours),
            max_sessions_per_customer=self.max_sessions_per_customer,
        )

    def query_limits(self) -> QueryLimits:
        return QueryLimits(
            max_depth=self.max_depth, max_aliases=self.max_aliases, max_tokens=self.max_tokens
        )
