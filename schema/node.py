"""The Relay `Node` interface."""

from __future__ import annotations

import strawberry


@strawberry.interface(description="An object with a global id, fetchable with `Query.node`.")
class Node:
    id: strawberry.ID = strawberry.field(
        description="A global id (opaque): pass it to `Query.node` to fetch this object again."
    )
