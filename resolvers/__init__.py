"""Resolvers: turn GraphQL arguments and the caller into calls of `dynamo/`.

Each function takes the request context and returns `dynamo/` records or pages; the
`schema/` types wrap them. Nothing here builds GraphQL types.
"""
