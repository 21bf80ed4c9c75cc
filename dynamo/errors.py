"""Errors the storage layer raises for callers to map onto their own protocol."""


class StoreError(Exception):
    """Base class of the storage layer's own errors."""


class InvalidIdError(StoreError, ValueError):
    """An id that cannot be used in a key: empty, too long, with `#` or a control character."""


class InvalidCursorError(StoreError, ValueError):
    """A pagination cursor that was not issued by this server for this partition."""


class ConflictError(StoreError):
    """A conditional write lost: the item exists already, or changed underneath us."""


class NotFoundError(StoreError):
    """The item a write needs is not there (or has expired)."""


class UnprocessedError(StoreError):
    """A batch call still had unprocessed keys or items after every retry."""


class InvalidPageSizeError(StoreError, ValueError):
    """A page size outside 0..MAX_PAGE_SIZE."""


_UNAVAILABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "ResourceNotFoundException",
    }
)


def is_store_unavailable(exc: BaseException) -> bool:
    """Throttling, an unreachable endpoint or a missing table, after botocore's own retries."""
    from botocore.exceptions import (
        ClientError,
        ConnectionClosedError,
        ConnectTimeoutError,
        EndpointConnectionError,
        ReadTimeoutError,
    )

    if isinstance(exc, UnprocessedError):
        return True
    if isinstance(
        exc, (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError)
    ):
        return True
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code") in _UNAVAILABLE_CODES
    return False
