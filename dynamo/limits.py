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

QUERY_READ_AHEAD = 25
"""The least a page's Query reads per round trip (`Limit`), even when one more live item
would do: expired items that TTL has not yet deleted are skipped by our reads, and reading
them one per round trip would cost a Query each. Items read past the page are dropped; the
next page starts from the last returned record's key, so none is skipped or repeated."""

MAX_QUERY_ROUNDS = 20
"""At most this many Query round trips build one page (`dynamo.query.query_page`), so a
partition full of expired, not yet deleted items cannot make one request read it all. A page
cut short says `has_next_page` and returns the live records found so far; with none found, its
end cursor is where the reads stopped, so the next page carries on from there."""
