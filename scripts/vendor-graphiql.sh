#!/usr/bin/env bash
# Installs GraphiQL, React and graphql-ws (subscriptions) from the npm registry (exact versions from package-lock.json) and
# copies just the browser files the GraphiQL page needs into server/static/vendor/, which the app
# serves at /graphiql-assets/. Safe to run again: the folder is rebuilt from scratch each time.
# Used by `make assets` and by the Dockerfile's assets stage.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

dest=server/static/vendor
modules=node_modules

mkdir -p "$(dirname "$dest")"
npm ci --no-audit --no-fund --ignore-scripts --loglevel=warn

# source (under node_modules/)            -> target (under server/static/vendor/)
files=(
  "graphiql/graphiql.min.js"                 "graphiql/graphiql.min.js"
  "graphiql/graphiql.min.css"                "graphiql/graphiql.min.css"
  "graphiql/LICENSE"                         "graphiql/LICENSE"
  "react/umd/react.production.min.js"        "react/react.production.min.js"
  "react/LICENSE"                            "react/LICENSE"
  "react-dom/umd/react-dom.production.min.js" "react-dom/react-dom.production.min.js"
  "react-dom/LICENSE"                        "react-dom/LICENSE"
  "graphql-ws/umd/graphql-ws.min.js"         "graphql-ws/graphql-ws.min.js"
  "graphql-ws/LICENSE.md"                    "graphql-ws/LICENSE.md"
)

# Build next to the target and swap it in, so a failed run never leaves a half-filled folder.
staging="$(mktemp -d "${dest}.tmp.XXXXXX")"
trap 'rm -rf "$staging"' EXIT
for ((i = 0; i < ${#files[@]}; i += 2)); do
  src="$modules/${files[i]}"
  dst="$staging/${files[i + 1]}"
  if [[ ! -f "$src" ]]; then
    echo "vendor-graphiql: $src is missing after npm ci" >&2
    exit 1
  fi
  mkdir -p "$(dirname "$dst")"
  cp "$src" "$dst"
done
chmod -R a+rX "$staging"
rm -rf "$dest"
mv "$staging" "$dest"
trap - EXIT
echo "vendor-graphiql: GraphiQL assets in $dest"
