"""The gateway's spans: one server span per request, and one per shadow call.

    caller's traceparent ─► gateway span (SERVER, "GET /items/{item_id}")
                               │  attributes: strangler.endpoint, .backend, .reason,
                               │  .flags.version, .canary.bucket, .shadow, .answered_by
                               ├─► legacy's or migrated's own spans (their traceparent is ours)
                               ┆
    shadow span (a trace of its own, linked to the gateway span) ─► the other app's spans

`TracedGateway` is the gateway with these spans, a subclass the assembly builds instead of the
plain `Gateway` when `tracing = true`: the span must begin before the routing and end after the
answer, around the request path, which no observer can do. So the plain gateway's request path
has no line of tracing in it, and costs the same with or without this package installed.

Spans go to the global TracerProvider (opentelemetry-sdk, or `opentelemetry-instrument`): the
service configures its exporter as it does for its other services.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opentelemetry import context, propagate, trace
from opentelemetry.propagators.textmap import Getter
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from strangler.gateway.dispatch import NO_ANSWER, Gateway
from strangler.gateway.errors import ForceRefused
from strangler.gateway.hooks import Shadow
from strangler.routing.decision import Decision, Reason
from strangler.types import ASGIApp, Backend, Message, Receive, Scope, Send

TRACER = "strangler"
Headers = list[tuple[bytes, bytes]]
# The gateway's own answers: the apps never saw these requests.
_GATEWAY_ANSWERS = {Reason.SHED: "shed", Reason.TOO_LARGE: "too-large"}


class _HeaderGetter(Getter[Headers]):
    """Reads an ASGI scope's headers (lowercase bytes) for the propagator."""

    def get(self, carrier: Headers, key: str) -> list[str] | None:
        name = key.lower().encode("latin-1")
        found = [value.decode("latin-1") for header, value in carrier if header == name]
        return found or None

    def keys(self, carrier: Headers) -> list[str]:
        return [header.decode("latin-1") for header, _ in carrier]


GETTER = _HeaderGetter()


def propagated(headers: Headers, ctx: context.Context) -> Headers:
    """`headers` with the propagator's fields (traceparent, tracestate, ...) replaced by those
    of `ctx`: what the app is handed names our span as its parent, never the caller's."""
    fields = {name.lower().encode("latin-1") for name in propagate.get_global_textmap().fields}
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=ctx)
    kept = [header for header in headers if header[0] not in fields]
    return kept + [
        (name.lower().encode("latin-1"), v.encode("latin-1")) for name, v in carrier.items()
    ]


class TracedGateway(Gateway):
    """The gateway, with a server span per request (see the module docstring). It takes the
    Gateway's arguments, and `tracer` (default: the global provider's `strangler` tracer)."""

    def __init__(self, *args: Any, tracer: trace.Tracer | None = None, **kwargs: Any) -> None:
        observers: Sequence[Any] = kwargs.pop("observers", ())
        super().__init__(*args, observers=(*observers, SpanAttributes()), **kwargs)
        self.tracer = tracer if tracer is not None else trace.get_tracer(TRACER)
        if self.shadow is not None:
            self.shadow = TracedShadow(self.shadow, self.tracer)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._is_admin(scope):
            await super().__call__(scope, receive, send)
            return
        method: str = scope["method"]
        parent = propagate.extract(scope["headers"], getter=GETTER)
        span = self.tracer.start_span(
            method,  # renamed "METHOD /route" once the routing has matched an endpoint
            context=parent,
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": scope["path"]},
        )
        ctx = trace.set_span_in_context(span, parent)
        token = context.attach(ctx)
        try:
            scope = dict(scope, headers=propagated(scope["headers"], ctx))
            await super().__call__(scope, receive, send)
        except Exception as exc:
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            raise
        finally:
            context.detach(token)
            span.end()

    def _is_admin(self, scope: Scope) -> bool:
        """Whether the request is for the admin API (health checks, scrapes: not traced)."""
        if self.admin is None:
            return False
        path: str = scope["path"]
        root_path: str = scope.get("root_path", "")
        if root_path and path.startswith(root_path):
            path = path[len(root_path) :]
        return path.startswith(self._admin_folder) or path == self._admin_prefix

    def _shadowed(self, scope: Scope, key: str | None) -> tuple[str | None, str | None]:
        shadowed, watched = super()._shadowed(scope, key)
        if shadowed is not None:
            trace.get_current_span().set_attribute("strangler.shadow", "shadowed")
        elif watched is not None:
            trace.get_current_span().set_attribute("strangler.shadow", "not-sampled")
        return shadowed, watched

    def _forced(self, scope: Scope, decision: Decision) -> Backend | None:
        try:
            return super()._forced(scope, decision)
        except ForceRefused:
            _answered_by_gateway(trace.get_current_span(), "force-refused")
            raise


class SpanAttributes:
    """The RequestObserver that writes the routing's facts on the request's span (current: the
    observers run inside the request, in its context)."""

    def request_done(
        self,
        method: str,
        decision: Decision,
        backend: Backend,
        reason: Reason,
        status: int,
        seconds: float,
        request_id: bytes | None,
    ) -> None:
        span = trace.get_current_span()
        if not span.is_recording():
            return
        # One call for them all: each set_attribute takes the span's lock.
        facts: dict[str, str | int | bool] = {
            "strangler.backend": backend.value,
            "strangler.reason": reason.value,
            "strangler.flags.version": decision.version,
        }
        if decision.endpoint is not None:
            span.update_name(decision.endpoint)  # "GET /items/{item_id}": method and route
            facts["strangler.endpoint"] = decision.endpoint
            facts["http.route"] = decision.endpoint.partition(" ")[2]
        if decision.bucket is not None:
            facts["strangler.canary.bucket"] = decision.bucket
        if request_id is not None:
            facts["strangler.request_id"] = request_id.decode("latin-1")
        if (answer := _GATEWAY_ANSWERS.get(reason)) is not None:
            facts["strangler.answered_by"] = "gateway"
            facts["strangler.gateway_answer"] = answer
        if status == NO_ANSWER:
            facts["strangler.client_left"] = True
        else:
            facts["http.response.status_code"] = status
        span.set_attributes(facts)
        if status >= 500 and status != NO_ANSWER:
            span.set_status(Status(StatusCode.ERROR))


def _answered_by_gateway(span: trace.Span, answer: str) -> None:
    span.set_attribute("strangler.answered_by", "gateway")
    span.set_attribute("strangler.gateway_answer", answer)


class TracedShadow:
    """The shadow tap, with a span for each call to the other backend: a trace of its own,
    linked to the request's (a shadow call is not part of what the client waited for, though
    it runs before the answer). Everything else is the tap's."""

    def __init__(self, inner: Shadow, tracer: trace.Tracer) -> None:
        self.inner = inner
        self.tracer = tracer

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)  # the tap's records and reports, for its readers

    def wants(self, key: str, method: str, flag: Any) -> bool:
        return self.inner.wants(key, method, flag)

    def skipped_busy(self, key: str) -> None:
        trace.get_current_span().set_attribute("strangler.shadow", "skipped-busy")
        self.inner.skipped_busy(key)

    async def serve_unshadowed(
        self, key: str, app: ASGIApp, scope: Scope, receive: Receive, send: Send
    ) -> None:
        await self.inner.serve_unshadowed(key, app, scope, receive, send)

    async def serve(
        self,
        key: str,
        serving: Backend,
        serving_app: ASGIApp,
        scope: Scope,
        other_app: ASGIApp,
        other_scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        other = Backend.LEGACY if serving is Backend.MIGRATED else Backend.MIGRATED
        request = trace.get_current_span().get_span_context()
        call = ShadowCall(other_app, self.tracer, key, other, request)
        await self.inner.serve(key, serving, serving_app, scope, call, other_scope, receive, send)


class ShadowCall:
    """The other backend's app, called for a shadow comparison inside its own span."""

    def __init__(
        self,
        app: ASGIApp,
        tracer: trace.Tracer,
        key: str,
        backend: Backend,
        request: trace.SpanContext,
    ) -> None:
        self.app = app
        self.tracer = tracer
        self.key = key
        self.backend = backend
        self.request = request  # the gateway span's, for the link

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        span = self.tracer.start_span(
            f"shadow {self.key}",
            context=context.Context(),  # a root: the client's trace ends with its answer
            kind=SpanKind.INTERNAL,
            links=[Link(self.request)] if self.request.is_valid else (),
            attributes={
                "strangler.endpoint": self.key,
                "strangler.backend": self.backend.value,
                "strangler.shadow": "call",
            },
        )
        ctx = trace.set_span_in_context(span, context.Context())
        token = context.attach(ctx)

        def noted(message: Message) -> Any:
            if message["type"] == "http.response.start":
                span.set_attribute("http.response.status_code", message["status"])
            return send(message)

        try:
            scope = dict(scope, headers=propagated(scope["headers"], ctx))
            await self.app(scope, receive, noted)
        except Exception as exc:
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            raise
        finally:
            context.detach(token)
            span.end()
