"""Errors a caller sees, each with its `extensions.code` (docs/design.md section 5)."""

from __future__ import annotations

from typing import Literal

from graphql import GraphQLError

ErrorCode = Literal[
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "BAD_USER_INPUT",
    "NOT_FOUND",
    "CONFLICT",
    "RATE_LIMITED",
    "STORE_UNAVAILABLE",
    "TIMEOUT",
    "INTERNAL_SERVER_ERROR",
]


class ApiError(GraphQLError):
    """An error meant for the caller: its message is safe to show and says what to do."""

    code: ErrorCode = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message, extensions={"code": self.code})


class Unauthenticated(ApiError):
    code = "UNAUTHENTICATED"


class Forbidden(ApiError):
    code = "FORBIDDEN"


class BadUserInput(ApiError):
    code = "BAD_USER_INPUT"


class NotFound(ApiError):
    code = "NOT_FOUND"


class Conflict(ApiError):
    code = "CONFLICT"


class RateLimited(ApiError):
    code = "RATE_LIMITED"


class StoreUnavailable(ApiError):
    code = "STORE_UNAVAILABLE"


class RequestTimeout(ApiError):
    code = "TIMEOUT"


INVALID_TOKEN = "the access token is invalid, ended or expired: log in again"
STORE_UNAVAILABLE_MESSAGE = "the session store is unavailable right now; try again shortly"
