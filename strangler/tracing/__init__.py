"""OpenTelemetry traces of the gateway (the `otel` extra: `pip install 'strangler[otel]'`).

With `tracing = true` the gateway is built as a `TracedGateway` (strangler.tracing.spans): one
server span per request, continuing the caller's `traceparent` and passed on to both apps, so
their own instrumentation nests under it; the shadow call as a span of its own, linked to the
request's. Off, nothing of this package is imported and the gateway is the plain one.
"""

from __future__ import annotations

from strangler.tracing.spans import TracedGateway, TracedShadow

__all__ = ["TracedGateway", "TracedShadow"]
