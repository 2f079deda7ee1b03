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
from typing import TYPE_CHECKING, Any

from opentelemetry import context, propagate, trace
from opentelemetry.propagators.textmap import Getter, Setter, TextMapPropagator
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from strangler.gateway.dispatch import NO_ANSWER, Gateway, Shadowing
from strangler.gateway.errors import ForceRefused
from strangler.gateway.hooks import Shadow
from strangler.routing.decision import Decision, Reason
from strangler.tracing.check import ProviderCheck
from strangler.types import ASGIApp, Backend, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from strangler.flags.model import Flag

TRACER = "strangler"
Headers = list[tuple[bytes, bytes]]
Found = dict[str, list[str]]  # the propagator's headers of a request, by lowercase name
# The gateway's own answers: the apps never saw these requests.
_GATEWAY_ANSWERS = {Reason.SHED: "shed", Reason.TOO_LARGE: "too-large"}


class _FoundGetter(Getter[Found]):
    """Reads the propagator's headers, picked out of the scope's in the one pass of `_split`."""

    def get(self, carrier: Found, key: str) -> list[str] | None:
        return carrier.get(key.lower())

    def keys(self, carrier: Found) -> list[str]:
        return list(carrier)


class _HeaderSetter(Setter[Headers]):
    """Appends the propagator's headers to an ASGI header list (lowercase bytes)."""

    def set(self, carrier: Headers, key: str, value: str) -> None:
        carrier.append((key.lower().encode("latin-1"), value.encode("latin-1")))


GETTER = _FoundGetter()
SETTER = _HeaderSetter()


class _Fields:
    """The global propagator's header names, read once per propagator (its `fields` builds a
    new set on each read), and again if the service sets another (opentelemetry-instrument)."""

    def __init__(self) -> None:
        self.textmap: TextMapPropagator | None = None
        self.names: frozenset[bytes] = frozenset()

    def of(self, textmap: TextMapPropagator) -> frozenset[bytes]:
        if textmap is not self.textmap:
            self.names = frozenset(name.lower().encode("latin-1") for name in textmap.fields)
            self.textmap = textmap
        return self.names


FIELDS = _Fields()


def _split(headers: Headers, fields: frozenset[bytes]) -> tuple[Headers, Found]:
    """The headers that are not the propagator's (the app is handed ours in their
    place, never the caller's), and those that are, as text for `extract`."""
    kept = [header for header in headers if header[0] not in fields]
    found: Found = {}
    if len(kept) < len(headers):  # a caller's context: a second pass, over a short list
        for name, value in headers:
            if name in fields:
                found.setdefault(name.decode("latin-1"), []).append(value.decode("latin-1"))
    return kept, found


def propagated(headers: Headers, ctx: context.Context) -> Headers:
    """`headers` with the propagator's fields (traceparent, tracestate, ...) replaced by those
    of `ctx`: what the app is handed names our span as its parent, never the caller's."""
    textmap = propagate.get_global_textmap()
    kept, _ = _split(headers, FIELDS.of(textmap))
    textmap.inject(kept, context=ctx, setter=SETTER)
    return kept


class TracedGateway(Gateway):
    """The gateway, with a server span per request (see the module docstring). It takes the
    Gateway's arguments, and `tracer` (default: the global provider's `strangler` tracer)."""

    def __init__(self, *args: Any, tracer: trace.Tracer | None = None, **kwargs: Any) -> None:
        observers: Sequence[Any] = kwargs.pop("observers", ())
        if tracer is None:  # the global provider's: warn at the first request if none is set
            observers = (*observers, ProviderCheck(self._unobserve))
        super().__init__(*args, observers=(*observers, SpanAttributes()), **kwargs)
        self.tracer = tracer if tracer is not None else trace.get_tracer(TRACER)
        if self.shadow is not None:
            self.shadow = TracedShadow(self.shadow, self.tracer)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Admin requests (health checks, scrapes) are not traced: the gateway's own rule says
        # which they are.
        if scope["type"] != "http" or self.within(scope) is None:
            await super().__call__(scope, receive, send)
            return
        method: str = scope["method"]
        textmap = propagate.get_global_textmap()
        headers, found = _split(scope["headers"], FIELDS.of(textmap))
        # No caller's context (most requests at the edge): the span's parent is the current
        # context's, as extract() would give, without running each propagator on nothing.
        parent = textmap.extract(found, getter=GETTER) if found else None
        span = self.tracer.start_span(
            method,  # renamed "METHOD /route" once the routing has matched an endpoint
            context=parent,
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": scope["path"]},
        )
        # The apps are handed our span as their parent, with the caller's baggage.
        textmap.inject(headers, context=trace.set_span_in_context(span, parent), setter=SETTER)
        with trace.use_span(span, end_on_exit=True):  # an exception: recorded, status ERROR
            await super().__call__(dict(scope, headers=headers), receive, send)

    def _unobserve(self, observer: ProviderCheck) -> None:
        self.observers = tuple(o for o in self.observers if o is not observer)

    def _shadowing(self, scope: Scope, key: str | None) -> Shadowing | None:
        shadowing = super()._shadowing(scope, key)
        if shadowing is not None:
            shown = "shadowed" if shadowing.sampled else "not-sampled"
            trace.get_current_span().set_attribute("strangler.shadow", shown)
        return shadowing

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
    span.set_attributes({"strangler.answered_by": "gateway", "strangler.gateway_answer": answer})


class TracedShadow:
    """The shadow tap, with a span for each call to the other backend: a trace of its own,
    linked to the request's (a shadow call is not part of what the client waited for, though
    it runs before the answer). It is the Shadow protocol, no more: the tap's records and
    reports are read from the tap (`inner`, which the assembly also hands its readers)."""

    def __init__(self, inner: Shadow, tracer: trace.Tracer) -> None:
        self.inner = inner
        self.tracer = tracer

    def wants(self, key: str, method: str, flag: Flag) -> bool:
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
        *,
        calibration_app: ASGIApp | None = None,
    ) -> None:
        other = Backend.LEGACY if serving is Backend.MIGRATED else Backend.MIGRATED
        request = trace.get_current_span().get_span_context()
        call = ShadowCall(other_app, self.tracer, key, other, request)
        # The serving app's sandboxed replay (A/A, to learn noise) is no part of the client's
        # answer either: a span of its own, not the request's child.
        replay = calibration_app or serving_app
        again = ShadowCall(replay, self.tracer, key, serving, request, role="calibration")
        await self.inner.serve(
            key,
            serving,
            serving_app,
            scope,
            call,
            other_scope,
            receive,
            send,
            calibration_app=again,
        )


class ShadowCall:
    """The other backend's app, called for a shadow comparison inside its own span."""

    def __init__(
        self,
        app: ASGIApp,
        tracer: trace.Tracer,
        key: str,
        backend: Backend,
        request: trace.SpanContext,
        role: str = "call",  # or "calibration": the serving app replayed to learn noise
    ) -> None:
        self.app = app
        self.tracer = tracer
        self.key = key
        self.backend = backend
        self.request = request  # the gateway span's, for the link
        self.role = role

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        name = f"shadow {self.key}" if self.role == "call" else f"shadow {self.role} {self.key}"
        span = self.tracer.start_span(
            name,
            context=context.Context(),  # a root: the client's trace ends with its answer
            kind=SpanKind.INTERNAL,
            links=[Link(self.request)] if self.request.is_valid else (),
            attributes={
                "strangler.endpoint": self.key,
                "strangler.backend": self.backend.value,
                "strangler.shadow": self.role,
            },
        )

        def noted(message: Message) -> Any:
            if message["type"] == "http.response.start":
                span.set_attribute("http.response.status_code", message["status"])
            return send(message)

        headers = propagated(scope["headers"], trace.set_span_in_context(span, context.Context()))
        with trace.use_span(span, end_on_exit=True):  # an exception: recorded, status ERROR
            await self.app(dict(scope, headers=headers), receive, noted)
