"""`Query.node`: global ids that carry the item's whole key, so a node costs one batched read."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Literal

from dynamo.errors import InvalidIdError
from dynamo.keys import child_session_key, parent_session_key, validate_id
from dynamo.records import ChildSession, ParentSession
from resolvers.access import can_read_session
from resolvers.context import RequestContext
from resolvers.customers import customer
from resolvers.errors import BadUserInput
from resolvers.liveness import live_parent
from resolvers.sessions import with_live_parent


@dataclass(frozen=True, slots=True)
class NodeRef:
    type_name: Literal["Customer", "Session"]
    ids: tuple[str, ...]


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")


def customer_global_id(customer_id: str) -> str:
    return _b64(f"Customer:{customer_id}")


def session_global_id(record: ParentSession | ChildSession) -> str:
    if isinstance(record, ChildSession):
        return _b64(f"Session:c#{record.parent_session_id}#{record.session_id}")
    return _b64(f"Session:p#{record.session_id}#{record.customer_id}")


def decode_global_id(global_id: str) -> NodeRef:
    """Ids cannot hold `#`, so `#` separates the parts; anything else is refused."""
    bad = BadUserInput("id is not a node id issued by this server")
    if len(global_id) > 1024:
        raise bad
    try:
        text = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode("utf-8")
    except (binascii.Error, ValueError) as exc:
        raise bad from exc
    type_name, _, rest = text.partition(":")
    try:
        if type_name == "Customer":
            return NodeRef("Customer", (validate_id(rest),))
        if type_name == "Session":
            kind, *ids = rest.split("#")
            if kind in ("p", "c") and len(ids) == 2:
                return NodeRef("Session", (kind, validate_id(ids[0]), validate_id(ids[1])))
    except InvalidIdError as exc:
        raise bad from exc
    raise bad


async def node(ctx: RequestContext, global_id: str) -> ParentSession | ChildSession | str | None:
    """A session record, a customer id (for `Customer`), or None."""
    ref = decode_global_id(global_id)
    caller = ctx.require_caller()
    if ref.type_name == "Customer":
        return await customer(ctx, ref.ids[0])
    kind, first, second = ref.ids
    key = parent_session_key(first, second) if kind == "p" else child_session_key(first, second)
    found = await ctx.loaders.session_by_key.load((key["PK"], key["SK"]))
    if isinstance(found, ChildSession):
        found = await with_live_parent(ctx, found)
    elif isinstance(found, ParentSession):
        found = await live_parent(ctx, found)
    return found if found is not None and can_read_session(caller, found) else None
