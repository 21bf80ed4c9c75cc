"""Who may read or end what (docs/design.md section 4). What may not be read looks absent."""

from __future__ import annotations

from dynamo.records import ChildSession, ParentSession
from resolvers.caller import Admin, Caller, SessionCaller

AnySession = ParentSession | ChildSession


def can_read_customer(caller: Caller, customer_id: str) -> bool:
    if isinstance(caller, Admin):
        return True
    return (
        isinstance(caller, SessionCaller)
        and not caller.is_child
        and caller.customer_id == customer_id
    )


def can_read_session(caller: Caller, record: AnySession) -> bool:
    if isinstance(caller, Admin):
        return True
    if not isinstance(caller, SessionCaller):
        return False
    if caller.is_child:
        # A child reads itself and its parent, nothing else.
        return record.pk == caller.session.pk and record.sk in (caller.session.sk, caller.parent.sk)
    if record.customer_id is not None:
        return record.customer_id == caller.customer_id
    # A child item written without `customer_id`: it belongs to whoever owns its parent,
    # and its parent is the caller's own session when the partition is the caller's.
    return isinstance(record, ChildSession) and record.pk == caller.parent.pk


def can_end_session(caller: Caller, record: AnySession) -> bool:
    if isinstance(caller, SessionCaller) and caller.is_child:
        return record.pk == caller.session.pk and record.sk == caller.session.sk
    return can_read_session(caller, record)
