"""OpenTelemetry traces, when the standard `OTEL_*` variables ask for them (optional extra
`otel`): a span per GraphQL operation (Strawberry's extension) and per DynamoDB call
(opentelemetry-instrumentation-botocore).

Nothing sensitive goes into a span: Strawberry's extension records the query text (which may
hold a password or token as a literal) and every resolver argument (passwords, tokens); the
subclass here records neither. The botocore instrumentation records table and index names,
limits and consumed capacity, never keys or items.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Generator, Mapping
from typing import Any

log = logging.getLogger("sessiongraph")

_REQUESTING = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
_configured = False


def tracing_requested(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter == "none":
        return False
    return bool(exporter) or any(env.get(name) for name in _REQUESTING)


def configure_tracing(span_processor: Any = None) -> bool:
    """Set up the tracer provider (unless one is set already) and the botocore
    instrumentation, once per process. False when the `otel` extra is not installed."""
    global _configured
    if _configured:
        return True
    try:
        from opentelemetry import trace
        from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        log.warning("OTEL_* is set but the `otel` extra is not installed: no traces")
        return False
    if span_processor is None:
        exporter_name = os.environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower()
        if exporter_name == "console":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            span_processor = BatchSpanProcessor(ConsoleSpanExporter())
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            span_processor = BatchSpanProcessor(OTLPSpanExporter())
    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": "sessiongraph"}
    provider = TracerProvider(resource=Resource.create(attributes))
    provider.add_span_processor(span_processor)
    trace.set_tracer_provider(provider)
    BotocoreInstrumentor().instrument()  # type: ignore[no-untyped-call]
    _configured = True
    return True


def graphql_extensions() -> list[Any]:
    """The Strawberry extension for spans per operation (empty when the extra is missing)."""
    try:
        from opentelemetry.trace import SpanKind
        from strawberry.extensions import LifecycleStep
        from strawberry.extensions.tracing import OpenTelemetryExtension
    except ImportError:
        return []

    class SafeOpenTelemetryExtension(OpenTelemetryExtension):
        """Strawberry's extension without the query text and without resolver arguments."""

        def __init__(self, *, execution_context: Any = None) -> None:
            super().__init__(execution_context=execution_context, arg_filter=_no_arguments)

        def on_operation(self) -> Generator[None, None, None]:
            name = self.execution_context.operation_name
            span = self._tracer.start_span(
                f"GraphQL {name}" if name else "GraphQL operation", kind=SpanKind.SERVER
            )
            span.set_attribute("component", "graphql")
            self._span_holder[LifecycleStep.OPERATION] = span
            yield
            context = self.execution_context
            if context.graphql_document is not None:
                with contextlib.suppress(RuntimeError):
                    span.set_attribute("graphql.operation.type", context.operation_type.value)
                if not name and context.operation_name:
                    span.update_name(f"GraphQL {context.operation_name}")
            span.end()

    return [SafeOpenTelemetryExtension]


def _no_arguments(arguments: dict[str, Any], info: Any) -> dict[str, Any]:
    return {}
