"""Loading a NoSQL Workbench model export (`DataModel[].TableData`, in DynamoDB JSON)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from dynamo.batch import batch_put
from dynamo.customers import create_customer_if_missing
from dynamo.errors import InvalidIdError
from dynamo.keys import parse_key
from dynamo.store import Store


class ModelFileError(ValueError):
    """The file is not a NoSQL Workbench model export we can load."""


def read_model_items(path: Path, table_name: str | None = None) -> list[dict[str, Any]]:
    """The items of the model's table: the one named `table_name`, else the only/first one."""
    try:
        model = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise ModelFileError(f"cannot read {path}: {exc}") from exc
    tables = model.get("DataModel") if isinstance(model, dict) else None
    if not isinstance(tables, list) or not tables:
        raise ModelFileError(f"{path} has no DataModel list: is it a NoSQL Workbench export?")
    if not all(isinstance(t, dict) for t in tables):
        raise ModelFileError(f"{path}: every DataModel entry must be a table object")
    chosen = next((t for t in tables if t.get("TableName") == table_name), None) or tables[0]
    items = chosen.get("TableData", [])
    if not isinstance(items, list):
        raise ModelFileError(f"{path}: TableData must be a list")
    for index, item in enumerate(items):
        pk, sk = (item.get(k) if isinstance(item, dict) else None for k in ("PK", "SK"))
        if not (isinstance(pk, dict) and "S" in pk and isinstance(sk, dict) and "S" in sk):
            raise ModelFileError(f"{path}: item {index} has no string PK and SK")
    return items


def load_model(store: Store, path: Path, source_table: str | None = None) -> int:
    """Write the model's items into `store`'s table; returns how many were written.

    Tables written by others hold sessions but no customer items. For each customer whose
    sessions are loaded, a customer item without a password is created if there is none
    (conditional PutItem, so loading twice changes nothing): `registerCustomer` relies on
    that item alone, and must not let a stranger set a password on such a customer.
    """
    items = read_model_items(path, source_table)
    batch_put(store, items)
    for customer_id in sorted(customers_of(items)):
        try:
            create_customer_if_missing(store, customer_id)
        except InvalidIdError:
            continue  # an id the API refuses anyway: nobody can register or log in as it
    return len(items)


def customers_of(items: list[dict[str, Any]]) -> set[str]:
    """The customer ids of the parent sessions (and customer items) among `items`."""
    found = set()
    for item in items:
        parsed = parse_key(item["PK"]["S"], item["SK"]["S"])
        if parsed is not None and parsed.kind in ("parent", "customer") and parsed.customer_id:
            found.add(parsed.customer_id)
    return found
