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
