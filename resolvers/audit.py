"""Audit events: admin actions on a customer's behalf, one log line each (ids only, no secrets).

They go to the `sessiongraph.audit` logger; with JSON logs every field is its own key.
"""

from __future__ import annotations

import logging

AUDIT_LOGGER = "sessiongraph.audit"
_log = logging.getLogger(AUDIT_LOGGER)


def audit(event: str, **fields: str | None) -> None:
    _log.info(
        "audit %s %s",
        event,
        " ".join(f"{k}={v}" for k, v in fields.items()),
        extra={"audit": event, **fields},
    )
