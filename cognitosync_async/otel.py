"""OpenTelemetry tracing (the ``otel`` extra): one CLIENT span per call.

    from cognitosync_async.otel import CognitoSyncInstrumentor

    CognitoSyncInstrumentor().instrument()   # tracer_provider= optional

Built on the request loop's event hooks (``call_start`` / ``call_end``),
registered process-wide: every ``CognitoSyncClient`` and
``CognitoIdentityClient`` call, from any client, is one span named
``CognitoSync.<Operation>`` (``CognitoIdentity.<Operation>``), current while
the call runs (so spans made inside it, e.g. by an HTTP instrumentation, are
its children), with the AWS SDK conventions' attributes: ``rpc.system``
(``aws-api``), ``rpc.service``, ``rpc.method``, ``cloud.region``,
``aws.request_id``, ``http.response.status_code``, and
``cognitosync.attempts`` (the attempts taken). A call that raises ends its
span with status ERROR, the exception recorded and ``error.type`` set.
Importing ``cognitosync_async`` alone imports nothing of OpenTelemetry.
"""

from __future__ import annotations

import contextvars
from collections.abc import Collection
from typing import Any

from opentelemetry import context, trace
from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
    BaseInstrumentor,
)
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from ._events import GLOBAL_HOOKS, CallEnd, CallStart
from ._version import __version__

__all__ = ["CognitoSyncInstrumentor"]

#: rpc.service and the span name's prefix, by SigV4 service name
SERVICE_NAMES = {"cognito-sync": "CognitoSync", "cognito-identity": "CognitoIdentity"}

# The span of the call running in this context, with what restores the context after it
# (calls nest LIFO within one task: a credentials refresh inside a call is its child).
_current: contextvars.ContextVar[tuple[Span, object, Any] | None] = contextvars.ContextVar(
    "cognitosync_async_otel_span", default=None
)


class CognitoSyncInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """The OpenTelemetry instrumentor of cognitosync_async (``instrument()`` /
    ``uninstrument()``; ``instrument(tracer_provider=...)`` picks the provider)."""

    _tracer: trace.Tracer | None = None

    def instrumentation_dependencies(self) -> Collection[str]:
        return ()

    def _instrument(self, **kwargs: Any) -> None:
        self._tracer = trace.get_tracer(
            __name__, __version__, tracer_provider=kwargs.get("tracer_provider")
        )
        GLOBAL_HOOKS["call_start"].append(self._start)
        GLOBAL_HOOKS["call_end"].append(self._end)

    def _uninstrument(self, **kwargs: Any) -> None:
        for name, hook in (("call_start", self._start), ("call_end", self._end)):
            if hook in GLOBAL_HOOKS[name]:
                GLOBAL_HOOKS[name].remove(hook)

    def _start(self, event: CallStart) -> None:
        tracer = self._tracer
        if tracer is None:
            return
        service = SERVICE_NAMES.get(event.service, event.service)
        span = tracer.start_span(
            f"{service}.{event.operation}",
            kind=SpanKind.CLIENT,
            attributes={
                "rpc.system": "aws-api",
                "rpc.service": service,
                "rpc.method": event.operation,
            },
        )
        token = context.attach(trace.set_span_in_context(span))
        _current.set((span, token, _current.get()))

    def _end(self, event: CallEnd) -> None:
        current = _current.get()
        if current is None:  # instrumented while the call ran
            return
        span, token, outer = current
        _current.set(outer)
        context.detach(token)  # type: ignore[arg-type]
        if event.region:
            span.set_attribute("cloud.region", event.region)
        if event.request_id is not None:
            span.set_attribute("aws.request_id", event.request_id)
        if event.status is not None:
            span.set_attribute("http.response.status_code", event.status)
        span.set_attribute("cognitosync.attempts", event.attempts)
        error = event.error
        if error is not None:
            span.set_attribute("error.type", type(error).__qualname__)
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
        span.end()
