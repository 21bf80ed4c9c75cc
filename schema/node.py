"""The Relay `Node` interface."""

from __future__ import annotations

import strawberry


@strawberry.interface(description="An object with a global id, fetchable with `Query.node`.")
class Node:
    id: strawberry.ID
