"""DynamoDB's own limits, named once (as PynamoDB does)."""

BATCH_GET_PAGE_LIMIT = 100
"""BatchGetItem accepts at most 100 keys a call."""

BATCH_WRITE_PAGE_LIMIT = 25
"""BatchWriteItem accepts at most 25 requests a call."""

MAX_ID_LENGTH = 128
"""Our own cap on a session or customer id (not DynamoDB's)."""

BATCH_RETRY_ATTEMPTS = 8
"""How many times unprocessed keys or items are sent again before giving up."""

BATCH_RETRY_BASE_DELAY = 0.025
"""First backoff delay in seconds; doubles each attempt (with jitter)."""

MAX_PAGE_SIZE = 100
"""The largest page a connection hands out (`first` is at most this)."""
