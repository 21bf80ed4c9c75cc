"""The storage layer: the `session_store` table, its keys, records and access patterns.

Knows nothing of GraphQL or HTTP. Every function here is synchronous and takes a
`Store` (a boto3 client, a table name and a clock); callers on an event loop run
them through `dynamo.runner.BlockingCallRunner`.
"""
