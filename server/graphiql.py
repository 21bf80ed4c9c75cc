"""GraphiQL's page, with its scripts and styles served by the app itself.

Strawberry's stock GraphiQL page loads React and GraphiQL from a CDN, so on a closed network it
stays on "Loading...". `make assets` (scripts/vendor-graphiql.sh) copies the same files from the
npm registry into `VENDOR_DIR`; the app mounts `graphiql_assets_app()` at `ASSET_ROUTE_PREFIX` and
serves `graphiql_page()` for a browser's GET of the GraphQL path. Without the files the page falls
back to the CDN, with the same versions and Subresource Integrity hashes, and says so in the log.

The versions here are those pinned in package.json; a test checks that they and the hashes match.
"""

from __future__ import annotations

import functools
import html
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from starlette.staticfiles import StaticFiles

logger = logging.getLogger(__name__)

_STATIC_DIR = Path(__file__).resolve().parent / "static"
VENDOR_DIR: Path = _STATIC_DIR / "vendor"
ASSET_ROUTE_PREFIX = "/graphiql-assets"
TEMPLATE_PATH = _STATIC_DIR / "graphiql.html"

GRAPHIQL_VERSION = "3.8.3"
REACT_VERSION = "18.3.1"
GRAPHQL_WS_VERSION = "6.0.4"
CDN_BASE = "https://unpkg.com"

DEFAULT_QUERY = """\
# sessiongraph's GraphiQL. `viewer` (below) answers null until the Headers tab
# holds a session's token: this page sends no token of its own.
#
# 1. Run Register, then Login: press the run button (it asks which operation),
#    or put the cursor inside one and press Ctrl-Enter. Login answers an accessToken.
# 2. Open the Headers tab (under this editor) and put the token in it:
#      {"Authorization": "Bearer <accessToken>"}
# 3. Run Viewer: the session of that token. A token that stopped working
#    (logged out, expired) gets an UNAUTHENTICATED error instead.
#
# The admin token (printed by `sessiongraph serve`) reads everything but is no
# session, so `viewer` stays null for it: ask for `customer(customerId: "alice")`.
# The Docs button describes every type and field.

mutation Register {
  registerCustomer(customerId: "alice", password: "correct horse battery") {
    customerId
  }
}

mutation Login {
  login(customerId: "alice", password: "correct horse battery") {
    accessToken
    session {
      sessionId
      expiresAt
    }
  }
}

query Viewer {
  viewer {
    sessionId
    state
    expiresAt
    customer {
      customerId
      lastLoginTime
    }
  }
}
"""


@dataclass(frozen=True)
class Asset:
    """One file of GraphiQL's page."""

    vendor_path: str
    """Where scripts/vendor-graphiql.sh puts it, under VENDOR_DIR and ASSET_ROUTE_PREFIX."""
    cdn_url: str
    integrity: str
    """Subresource Integrity hash of the file (identical in the npm tarball and on the CDN)."""


STYLESHEETS = (
    Asset(
        vendor_path="graphiql/graphiql.min.css",
        cdn_url=f"{CDN_BASE}/graphiql@{GRAPHIQL_VERSION}/graphiql.min.css",
        integrity="sha384-Mq3vbRBY71jfjQAt/DcjxUIYY33ksal4cgdRt9U/hNPvHBCaT2JfJ/PTRiPKf0aM",
    ),
)
# In load order: GraphiQL's UMD build expects window.React and window.ReactDOM (it bundles
# graphql-js and everything else itself).
SCRIPTS = (
    Asset(
        vendor_path="react/react.production.min.js",
        cdn_url=f"{CDN_BASE}/react@{REACT_VERSION}/umd/react.production.min.js",
        integrity="sha384-DGyLxAyjq0f9SPpVevD6IgztCFlnMF6oW/XQGmfe+IsZ8TqEiDrcHkMLKI6fiB/Z",
    ),
    Asset(
        vendor_path="react-dom/react-dom.production.min.js",
        cdn_url=f"{CDN_BASE}/react-dom@{REACT_VERSION}/umd/react-dom.production.min.js",
        integrity="sha384-gTGxhz21lVGYNMcdJOyq01Edg0jhn/c22nsx0kyqP0TxaV5WVdsSH1fSDUf5YJj1",
    ),
    Asset(
        vendor_path="graphiql/graphiql.min.js",
        cdn_url=f"{CDN_BASE}/graphiql@{GRAPHIQL_VERSION}/graphiql.min.js",
        integrity="sha384-HbRVEFG0JGJZeAHCJ9Xm2+tpknBQ7QZmNlO/DgZtkZ0aJSypT96YYGRNod99l9Ie",
    ),
    # The graphql-transport-ws client (window.graphqlWs): GraphiQL runs subscriptions with it.
    Asset(
        vendor_path="graphql-ws/graphql-ws.min.js",
        cdn_url=f"{CDN_BASE}/graphql-ws@{GRAPHQL_WS_VERSION}/umd/graphql-ws.min.js",
        integrity="sha384-L1uJSNgAjZOt7z6iPU+1qyztx98nQKw6uivIFC4oPZlOoimpFurLFG/Ysyo4BkAp",
    ),
)
ASSETS = STYLESHEETS + SCRIPTS


def assets_installed() -> bool:
    """Whether every file of the page is in VENDOR_DIR (`make assets` puts them there)."""
    return all((VENDOR_DIR / asset.vendor_path).is_file() for asset in ASSETS)


def graphiql_page(graphql_path: str = "/graphql") -> str:
    """The HTML of a GraphiQL page that sends its queries to `graphql_path` (same origin).

    Cheap enough to call for each request: pages are cached, and while the assets are missing
    the warning is logged once for each path (and again if VENDOR_DIR changes).
    """
    return _render(graphql_path, VENDOR_DIR, assets_installed())


@functools.lru_cache(maxsize=32)
def _render(graphql_path: str, vendor_dir: Path, local: bool) -> str:
    if not local:
        logger.warning(
            "GraphiQL assets are missing from %s: the GraphiQL page loads them from %s, which "
            "needs internet access; run `make assets` to serve them from this app.",
            vendor_dir,
            CDN_BASE,
        )

    def attributes(asset: Asset, url_attribute: str) -> str:
        if local:
            return f'{url_attribute}="{html.escape(f"{ASSET_ROUTE_PREFIX}/{asset.vendor_path}")}"'
        return (
            f'{url_attribute}="{html.escape(asset.cdn_url)}" '
            f'integrity="{html.escape(asset.integrity)}" crossorigin="anonymous"'
        )

    stylesheets = "\n    ".join(
        f'<link rel="stylesheet" {attributes(asset, "href")} />' for asset in STYLESHEETS
    )
    scripts = "\n    ".join(f"<script {attributes(asset, 'src')}></script>" for asset in SCRIPTS)
    config = {
        "url": graphql_path,
        "defaultQuery": DEFAULT_QUERY,
        "assets": f"from {ASSET_ROUTE_PREFIX}" if local else f"from {CDN_BASE}",
    }
    return (
        TEMPLATE_PATH.read_text(encoding="utf-8")
        .replace("{{stylesheets}}", stylesheets)
        .replace("{{scripts}}", scripts)
        .replace("{{config}}", _script_json(config))
    )


def graphiql_assets_app() -> StaticFiles:
    """Serves VENDOR_DIR; the app mounts it at ASSET_ROUTE_PREFIX."""
    return StaticFiles(directory=VENDOR_DIR, check_dir=False)


def _script_json(value: object) -> str:
    """JSON that is safe inside a <script> element: no "</script>" or "<!--" can appear."""
    return (
        json.dumps(value, ensure_ascii=False)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
    )
