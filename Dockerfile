# sessiongraph: the GraphQL API server, with GraphiQL's scripts and styles served by the app itself
# (so GraphiQL works on a closed network).
#
#   docker build -t sessiongraph .
#
# Which DynamoDB it uses (the `serve` command's store settings):
#   - nothing configured: the embedded in-memory store (moto), for a demo only: every session is
#     lost when the container stops, and SESSIONGRAPH_ENV=production refuses it.
#       docker run --rm -p 8000:8000 sessiongraph
#   - an endpoint (DynamoDB Local, ...): the standard AWS_ENDPOINT_URL_DYNAMODB (or --endpoint-url),
#     with a region and credentials (any values for DynamoDB Local); --create-table makes the table:
#       docker run --rm -p 8000:8000 -e AWS_ENDPOINT_URL_DYNAMODB=http://dynamodb-local:8000 \
#         -e AWS_REGION=us-east-1 -e AWS_ACCESS_KEY_ID=local -e AWS_SECRET_ACCESS_KEY=local \
#         sessiongraph serve --create-table
#   - AWS's own DynamoDB: SESSIONGRAPH_STORE=aws (or --store aws); region and credentials come from
#     the standard AWS chain (environment, an IAM role of the task or instance, ...).
# Production: SESSIONGRAPH_ENV=production, which needs SESSIONGRAPH_ADMIN_TOKEN and a real store.
# Other settings are SESSIONGRAPH_* variables (see the README).

# --- GraphiQL's files, from the npm registry at the versions of package-lock.json -----------------
FROM node:20-slim AS assets
ENV NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /build
COPY package.json package-lock.json ./
COPY scripts/vendor-graphiql.sh scripts/
RUN bash scripts/vendor-graphiql.sh

# --- the package and its dependencies (no dev extras) in a virtual environment --------------------
FROM python:3.11-slim AS build
ENV PATH="/opt/venv/bin:${PATH}" \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
WORKDIR /src
COPY pyproject.toml README.md ./
COPY dynamo/ dynamo/
COPY schema/ schema/
COPY resolvers/ resolvers/
COPY server/ server/
COPY examples/web/ examples/web/
RUN pip install --no-cache-dir .
# GraphiQL's files go next to the installed server/graphiql.py (its VENDOR_DIR): the build fails
# here if the page would not find them.
COPY --from=assets /build/server/static/vendor/ /tmp/graphiql-vendor/
RUN vendor_dir="$(python -c 'from server.graphiql import VENDOR_DIR; print(VENDOR_DIR)')" \
    && rm -rf "${vendor_dir}" \
    && cp -r /tmp/graphiql-vendor "${vendor_dir}" \
    && rm -rf /tmp/graphiql-vendor \
    && python -c 'import sys; from server.graphiql import assets_installed; sys.exit(not assets_installed())'

# --- runtime ----------------------------------------------------------------------------------------
FROM python:3.11-slim
ENV PATH="/opt/venv/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SESSIONGRAPH_HOST=0.0.0.0 \
    SESSIONGRAPH_PORT=8000
RUN useradd --system --user-group --uid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin sessiongraph
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
USER 10001:10001
EXPOSE 8000
# No curl in slim images: Python asks /healthz (this assumes the default port 8000).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
ENTRYPOINT ["sessiongraph"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
