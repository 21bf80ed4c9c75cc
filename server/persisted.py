"""Persisted queries: Automatic Persisted Queries (Apollo's protocol) and trusted documents.

APQ: a client sends `extensions.persistedQuery = {"version": 1, "sha256Hash": <hex>}`, first
without the query. An unknown hash answers `PersistedQueryNotFound`
(`extensions.code: PERSISTED_QUERY_NOT_FOUND`); the client then sends the query with the hash,
which must be the query's SHA-256, and the server keeps it in a bounded LRU cache
(SESSIONGRAPH_PERSISTED_QUERY_CACHE_SIZE; 0 turns APQ off: PERSISTED_QUERY_NOT_SUPPORTED).

Trusted documents: SESSIONGRAPH_TRUSTED_DOCUMENTS names a JSON object of SHA-256 hash ->
document, as GraphQL Codegen's client preset writes it (`persisted-documents.json`, with
`hashAlgorithm: "sha256"`). A request names one by its APQ hash or by
`documentId: "sha256:<hash>"` (a bare `<hash>` too). When only trusted documents may run
(SESSIONGRAPH_TRUSTED_DOCUMENTS_ONLY, on by default in production when a list is loaded), any
other document is refused with PERSISTED_QUERY_NOT_ALLOWED and APQ registers nothing new.

Every document here is parsed and validated once (`schema.documents.prepare_document`); the view
hands the prepared document to the execution, which then skips both steps. Errors name a hash
(cut short) and never echo a document back.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cross_web import AsyncHTTPRequestAdapter
from starlette.responses import JSONResponse

from schema.build import SessionGraphSchema
from schema.documents import PreparedDocument, prepare_document
from server import media

SHA256_HEX = re.compile(r"[0-9a-f]{64}")
TRUSTED_DOCUMENTS_SETTING = "SESSIONGRAPH_TRUSTED_DOCUMENTS"
TRUSTED_ONLY_SETTING = "SESSIONGRAPH_TRUSTED_DOCUMENTS_ONLY"
CACHE_SIZE_SETTING = "SESSIONGRAPH_PERSISTED_QUERY_CACHE_SIZE"


class PersistedQueryError(Exception):
    """A persisted-query request the server will not run, with its `extensions.code`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def response(self, *, accept: str | None) -> JSONResponse:
        """200 with `"data": null` as application/json (what Apollo's clients expect); the
        status of its code with no `data` as application/graphql-response+json. Never cached:
        the same GET succeeds once the query is registered."""
        response = media.error_response(
            200, self.message, self.code, graphql_response=media.wants_graphql_response(accept)
        )
        response.headers["cache-control"] = "private, no-cache, must-revalidate"
        return response


class TrustedDocumentsError(ValueError):
    """The trusted documents file cannot be used (the server refuses to start)."""


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _shown(value: object, limit: int = 72) -> str:
    text = value if isinstance(value, str) else json.dumps(value)[:limit]
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _not_found() -> PersistedQueryError:
    return PersistedQueryError("PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")


def _not_allowed(what: str) -> PersistedQueryError:
    return PersistedQueryError(
        "PERSISTED_QUERY_NOT_ALLOWED",
        f"{what}: this server runs only the trusted documents listed in "
        f"{TRUSTED_DOCUMENTS_SETTING} ({TRUSTED_ONLY_SETTING} is on); add the operation to "
        "that list (e.g. GraphQL Codegen's persisted-documents.json) and send its hash",
    )


def _bad_input(message: str) -> PersistedQueryError:
    return PersistedQueryError("BAD_USER_INPUT", message)


@dataclass(frozen=True, slots=True)
class Resolved:
    """What a request runs: its query text, and the prepared document when there is one."""

    query: str | None
    prepared: PreparedDocument | None = None


class PersistedQueries:
    def __init__(
        self,
        schema: SessionGraphSchema,
        *,
        cache_size: int = 100,
        trusted: Mapping[str, str] | None = None,
        trusted_only: bool = False,
    ) -> None:
        self.schema = schema
        self.cache_size = cache_size
        self.trusted_only = trusted_only
        self.trusted: dict[str, PreparedDocument] = {}
        self._cache: OrderedDict[str, PreparedDocument] = OrderedDict()
        problems = []
        for key, document in (trusted or {}).items():
            prepared = prepare_document(schema, schema.document_rules, document)
            if isinstance(prepared, list):
                problems.append(f"{key[:12]}...: {prepared[0].message}")
            else:
                self.trusted[key] = prepared
        if problems:
            raise TrustedDocumentsError(
                f"{len(problems)} trusted document(s) in {TRUSTED_DOCUMENTS_SETTING} do not "
                "validate against this server's schema and limits: " + "; ".join(problems[:5])
            )

    def lookup(self, sha256: str) -> PreparedDocument | None:
        prepared = self.trusted.get(sha256)
        if prepared is not None:
            return prepared
        prepared = self._cache.get(sha256)
        if prepared is not None:
            self._cache.move_to_end(sha256)
        return prepared

    def _register(self, sha256: str, query: str) -> PreparedDocument | None:
        """Parse and validate once, and keep it if it is valid (an invalid document runs
        the ordinary way, to get the ordinary errors)."""
        if self.cache_size == 0:
            return None
        prepared = prepare_document(self.schema, self.schema.document_rules, query)
        if isinstance(prepared, list):
            return None
        self._cache[sha256] = prepared
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return prepared

    def resolve(
        self, query: str | None, extensions: Mapping[str, Any] | None, document_id: object
    ) -> Resolved:
        """The document a request runs, from its `query`, `extensions.persistedQuery` and
        `documentId`; `PersistedQueryError` when there is none it may run."""
        persisted = (extensions or {}).get("persistedQuery")
        if document_id is not None:
            return self._by_document_id(query, document_id, persisted)
        if persisted is not None:
            return self._by_apq(query, persisted)
        if query is not None and self.trusted_only:
            prepared = self.trusted.get(sha256_hex(query))
            if prepared is None:
                raise _not_allowed("a query not in the trusted documents")
            return Resolved(query, prepared)
        return Resolved(query)

    def _by_document_id(self, query: str | None, document_id: object, persisted: Any) -> Resolved:
        if query is not None or persisted is not None:
            raise _bad_input(
                "send either documentId or the query (with extensions.persistedQuery), not both"
            )
        if not isinstance(document_id, str):
            raise _bad_input('documentId must be a string: "sha256:<64 hex digits>"')
        sha256 = document_id.removeprefix("sha256:")
        if not SHA256_HEX.fullmatch(sha256):
            raise _bad_input(
                f'documentId must be "sha256:<64 lowercase hex digits>", got {_shown(document_id)}'
            )
        prepared = self.trusted.get(sha256)
        if prepared is None:
            raise PersistedQueryError(
                "PERSISTED_QUERY_NOT_FOUND",
                f"no trusted document sha256:{sha256[:12]}... on this server "
                f"({TRUSTED_DOCUMENTS_SETTING} lists them: is the list deployed with this "
                "frontend build?)",
            )
        return Resolved(prepared.query, prepared)

    def _by_apq(self, query: str | None, persisted: Any) -> Resolved:
        if not isinstance(persisted, dict) or persisted.get("version") != 1:
            raise _bad_input(
                "extensions.persistedQuery must be "
                '{"version": 1, "sha256Hash": "<64 hex digits>"} (Automatic Persisted Queries)'
            )
        sha256 = persisted.get("sha256Hash")
        if not isinstance(sha256, str) or not SHA256_HEX.fullmatch(sha256):
            raise _bad_input(
                "extensions.persistedQuery.sha256Hash must be the query's SHA-256 in 64 "
                f"lowercase hex digits, got {_shown(sha256)}"
            )
        prepared = self.lookup(sha256)
        if query is None:
            if prepared is not None:
                return Resolved(prepared.query, prepared)
            if self.cache_size == 0 and not self.trusted:
                raise PersistedQueryError(
                    "PERSISTED_QUERY_NOT_SUPPORTED",
                    "PersistedQueryNotSupported",
                )
            raise _not_found()
        if sha256_hex(query) != sha256:
            raise _bad_input(
                "provided sha does not match query: extensions.persistedQuery.sha256Hash must "
                "be the SHA-256 of the query text exactly as sent"
            )
        if prepared is not None:
            return Resolved(query, prepared)
        if self.trusted_only:
            raise _not_allowed("registering a persisted query")
        return Resolved(query, self._register(sha256, query))


async def document_id(request: AsyncHTTPRequestAdapter) -> object:
    """The request's `documentId` (trusted documents), which Strawberry does not read: from the
    URL of a GET, else from the JSON body Strawberry has already read and parsed."""
    if request.method == "GET":
        return request.query_params.get("documentId")
    try:  # parsed again, not searched for the bytes: a JSON key may be written with escapes
        parsed = json.loads(await request.get_body())
    except ValueError:
        return None
    return parsed.get("documentId") if isinstance(parsed, dict) else None


def load_trusted_documents(path: Path) -> dict[str, str]:
    """Read a JSON object of SHA-256 hash -> document, checking every hash."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TrustedDocumentsError(
            f"cannot read {TRUSTED_DOCUMENTS_SETTING}={path}: {exc.strerror or exc}"
        ) from None
    except ValueError as exc:
        raise TrustedDocumentsError(
            f"{TRUSTED_DOCUMENTS_SETTING}={path} is not JSON ({exc})"
        ) from None
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
    ):
        raise TrustedDocumentsError(
            f"{TRUSTED_DOCUMENTS_SETTING}={path} must be a JSON object of "
            '"<sha256 hash>": "<document>" (GraphQL Codegen\'s persisted-documents.json)'
        )
    documents: dict[str, str] = {}
    for key, document in raw.items():
        sha256 = key.removeprefix("sha256:")
        if sha256 != sha256_hex(document):
            raise TrustedDocumentsError(
                f"in {TRUSTED_DOCUMENTS_SETTING}={path}, the key {_shown(key)} is not the "
                "SHA-256 of its document: generate the list with SHA-256 (GraphQL Codegen: "
                "persistedDocuments: { hashAlgorithm: 'sha256' })"
            )
        documents[sha256] = document
    return documents
