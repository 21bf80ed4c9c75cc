"""The `sessiongraph` command: serve, create-table, load, sweep, schema."""

from __future__ import annotations

import argparse
import logging
import math
import os
import secrets
import shutil
import signal
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any

from server.settings import Settings

log = logging.getLogger("sessiongraph")


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {
        name: value
        for name, value in (
            ("host", getattr(args, "host", None)),
            ("port", getattr(args, "port", None)),
            ("endpoint_url", getattr(args, "endpoint_url", None)),
            ("store", getattr(args, "store", None)),
            ("table_name", getattr(args, "table_name", None)),
        )
        if value is not None
    }
    if overrides.get("endpoint_url") and "store" not in overrides:
        overrides["store"] = "endpoint"
    return Settings(**overrides)


def _store_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--endpoint-url", help="DynamoDB endpoint (DynamoDB Local, Alternator)")
    parser.add_argument(
        "--store",
        choices=["auto", "embedded", "endpoint", "aws"],
        help="auto (default): the endpoint if configured, else the embedded in-memory store",
    )
    parser.add_argument("--table-name", help="table name (default session_store)")


def _port_in_use(host: str, port: int) -> str | None:
    """Why `host:port` cannot be listened on, or None when it can (checked before an admin
    token is generated and printed for a server that would not start)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


def _return_after_graceful_shutdown() -> None:
    """uvicorn shuts down gracefully on SIGTERM or SIGINT, then raises the signal again for the
    handler that was there before it. With this one, `serve` returns (closing the pools) and
    the process exits 0: a stop asked for and done cleanly."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: None)


def _worker_environment(settings: Settings) -> dict[str, str]:
    """What worker processes need to build the same settings (they read the environment)."""
    env = {
        "SESSIONGRAPH_STORE": settings.store_kind(),
        "SESSIONGRAPH_TABLE_NAME": settings.table_name,
        "SESSIONGRAPH_CREATE_TABLE": "false",  # created (or found) by this process already
        # Each worker shares the CPUs with the others (the argon2 pool's default size).
        "SESSIONGRAPH_WORKERS": str(settings.workers),
    }
    if settings.endpoint_url:
        env["SESSIONGRAPH_ENDPOINT_URL"] = settings.endpoint_url
    if settings.admin_token:
        env["SESSIONGRAPH_ADMIN_TOKEN"] = settings.admin_token
    return env


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from dynamo.workbench import load_model
    from server.app import ConfigurationError, create_app
    from server.asgi import StartupError, open_checked_services
    from server.heap import settle_heap
    from server.logs import configure_logging

    settings = _settings(args)
    if args.create_table:
        settings = settings.model_copy(update={"create_table": True})
    if args.workers is not None:
        settings = settings.model_copy(update={"workers": args.workers})
    if settings.workers > 1 and settings.store_kind() == "embedded":
        print(
            "--workers needs a store shared by processes: the embedded in-memory store lives "
            "in one process. Use DynamoDB Local (--endpoint-url http://127.0.0.1:8001 or "
            "AWS_ENDPOINT_URL_DYNAMODB) or --store aws, or serve with one worker",
            file=sys.stderr,
        )
        return 2
    problems = settings.production_problems(settings.store_kind())
    if problems:
        for problem in problems:
            print(f"refusing to start in production: {problem}", file=sys.stderr)
        return 2
    busy = _port_in_use(settings.host, settings.port)
    if busy:
        print(f"cannot listen on {settings.host}:{settings.port}: {busy}", file=sys.stderr)
        return 2
    log_config = configure_logging(settings.log_format_resolved, settings.log_level)
    generated = settings.admin_token is None
    if generated:
        settings = settings.model_copy(update={"admin_token": secrets.token_urlsafe(32)})
    try:
        services = open_checked_services(settings)
    except StartupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    uvicorn_options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level.lower(),
        "log_config": log_config,
        "proxy_headers": bool(settings.forwarded_allow_ips),
        "forwarded_allow_ips": settings.forwarded_allow_ips,
        "timeout_graceful_shutdown": math.ceil(settings.graceful_shutdown_seconds),
        "ws_max_size": settings.max_body_bytes,  # a WebSocket message is capped like a body
        "access_log": False,  # the app writes the access line (server/access_log.py)
    }
    try:
        if args.load:
            count = load_model(services.store, Path(args.load))
            print(f"loaded {count} items from {args.load}")
        kind = services.connection.kind if services.connection else "?"
        print(f"sessiongraph on the {kind} store, table {settings.table_name}")
        if generated:
            print(f"admin token (generated for this run): {settings.admin_token}")
        if settings.example_enabled:
            mode = "on" if settings.cookie_mode else "off: set SESSIONGRAPH_COOKIE_MODE=true"
            print(
                f"sample frontend: http://{settings.host}:{settings.port}/example/ "
                f"(cookie mode {mode})"
            )
        print(f"GraphiQL and the API: http://{settings.host}:{settings.port}/graphql")
        sys.stdout.flush()
        try:
            app = create_app(settings, services)
        except ConfigurationError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        if settings.workers > 1:
            services.close()
            return _serve_workers(settings, uvicorn_options)
        _return_after_graceful_shutdown()
        settle_heap(settings.gc_young_threshold)
        uvicorn.run(app, **uvicorn_options)
    finally:
        services.close()
    log.info("stopped: requests in flight answered, pools closed")
    return 0


def _serve_workers(settings: Settings, uvicorn_options: dict[str, Any]) -> int:
    """`--workers N`: uvicorn's process manager over the app factory. The settings reach the
    workers through the environment (never a log line); metrics are shared through a fresh
    directory (prometheus-client's multiprocess mode), removed at exit."""
    import uvicorn

    metrics_dir = tempfile.mkdtemp(prefix="sessiongraph-metrics-")
    os.environ.update(_worker_environment(settings))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        uvicorn.run(
            "server.asgi:create_app_from_environment",
            factory=True,
            workers=settings.workers,
            **uvicorn_options,
        )
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def create_table_command(args: argparse.Namespace) -> int:
    from dynamo.table import create_table
    from server.services import open_connection

    settings = _settings(args)
    connection = open_connection(settings)
    created = create_table(connection.client, settings.table_name)
    print(f"table {settings.table_name} {'created' if created else 'exists already'}")
    return 0


def load_command(args: argparse.Namespace) -> int:
    from botocore.exceptions import ClientError

    from dynamo.workbench import ModelFileError, load_model
    from server.services import open_services

    settings = _settings(args)
    if settings.store_kind() == "embedded":
        print(
            "load writes into a configured store: give --endpoint-url, set "
            "AWS_ENDPOINT_URL_DYNAMODB or use --store aws (for the embedded store, use "
            "`sessiongraph serve --load MODEL.json`)",
            file=sys.stderr,
        )
        return 2
    services = open_services(settings)
    try:
        count = load_model(services.store, Path(args.model))
    except ModelFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
        print(_missing_table(settings), file=sys.stderr)
        return 1
    finally:
        services.close()
    print(f"loaded {count} items into {settings.table_name}")
    return 0


def _missing_table(settings: Settings) -> str:
    """One line naming the table and the command that makes it (the same store options)."""
    endpoint = settings.endpoint_url or os.environ.get("AWS_ENDPOINT_URL_DYNAMODB")
    where = "AWS" if settings.store_kind() == "aws" else (endpoint or "the endpoint")
    options = [f"--table-name {settings.table_name}"]
    if settings.store_kind() == "aws":
        options.insert(0, "--store aws")
    elif settings.endpoint_url:
        options.insert(0, f"--endpoint-url {settings.endpoint_url}")
    return (
        f"error: there is no table {settings.table_name} at {where}: create it with "
        f"`sessiongraph create-table {' '.join(options)}`, then load again"
    )


def sweep_command(args: argparse.Namespace) -> int:
    """Delete the items of dead sessions: revoked, closing or expired (see dynamo.cleanup)."""
    from dynamo.cleanup import Budget, sweep_customer
    from dynamo.table_sweep import sweep_table
    from server.services import open_services

    if bool(args.customer) == bool(args.all):
        print("give --customer ID (one or more) or --all", file=sys.stderr)
        return 2
    settings = _settings(args)
    services = open_services(settings)
    budget = Budget(max_items=args.max_items, max_seconds=args.max_seconds)
    try:
        if args.all:
            results = [sweep_table(services.store, budget=budget)]
        else:
            results = [sweep_customer(services.store, c, budget=budget) for c in args.customer]
    finally:
        services.close()
    deleted = sum(r.deleted for r in results)
    complete = all(r.complete for r in results)
    print(f"deleted {deleted} items" + ("" if complete else " (stopped at the budget: run again)"))
    return 0 if complete else 3


def schema_command(args: argparse.Namespace) -> int:
    from schema.build import build_schema

    print(build_schema().as_str())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sessiongraph", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve_parser = commands.add_parser(
        "serve", help="serve /graphql, GraphiQL, /healthz, /readyz and /metrics"
    )
    _store_arguments(serve_parser)
    serve_parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve_parser.add_argument("--port", type=int, help="port (default 8000)")
    serve_parser.add_argument("--load", metavar="MODEL.json", help="seed the store at start")
    serve_parser.add_argument(
        "--create-table", action="store_true", help="create the table on the endpoint if missing"
    )
    serve_parser.add_argument(
        "--workers",
        type=int,
        help="worker processes (default 1; needs an endpoint or AWS store, not the embedded one)",
    )
    serve_parser.set_defaults(run=serve)

    create = commands.add_parser("create-table", help="create the table and its index")
    _store_arguments(create)
    create.set_defaults(run=create_table_command)

    load = commands.add_parser("load", help="load a NoSQL Workbench model export")
    _store_arguments(load)
    load.add_argument("model", metavar="MODEL.json")
    load.set_defaults(run=load_command)

    sweep = commands.add_parser(
        "sweep", help="delete the items of revoked, closing and expired sessions"
    )
    _store_arguments(sweep)
    sweep.add_argument(
        "--customer", action="append", metavar="ID", help="a customer (repeat for more)"
    )
    sweep.add_argument(
        "--all", action="store_true", help="the whole table (a paged, consistent Scan)"
    )
    sweep.add_argument("--max-items", type=int, default=100_000, help="stop after this many")
    sweep.add_argument("--max-seconds", type=float, default=600.0, help="stop after this long")
    sweep.set_defaults(run=sweep_command)

    schema = commands.add_parser("schema", help="print the GraphQL SDL")
    schema.set_defaults(run=schema_command)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
