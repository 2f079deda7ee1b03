"""A warning when tracing is on but no OpenTelemetry SDK is set up in the process.

`tracing = true` makes spans through the global tracer provider. Until a service sets one (the
SDK in its app module, or `opentelemetry-instrument`, which needs opentelemetry-distro to set
anything up), that provider is the API's proxy and every span goes nowhere, silently. This says
so once, at the first traced request: by then the service has had its chance to set one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from opentelemetry import trace

log = logging.getLogger("strangler.tracing")

WARNING = (
    "tracing = true, but no OpenTelemetry SDK is set up in this process: the gateway's spans go"
    " nowhere. Set a TracerProvider (opentelemetry-sdk) with an exporter in your app module, or"
    " run under `opentelemetry-instrument` with opentelemetry-distro installed"
)


class ProviderCheck:
    """A RequestObserver for the first request only: it warns if the global tracer provider is
    still the API's proxy, then `done` takes it out of the gateway's observers."""

    def __init__(self, done: Callable[[ProviderCheck], None]) -> None:
        self.done = done

    def request_done(
        self,
        method: str,
        decision: object,
        backend: object,
        reason: object,
        status: int,
        seconds: float,
        request_id: bytes | None,
    ) -> None:
        self.done(self)
        if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
            log.warning(WARNING)
