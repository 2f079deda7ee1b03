"""The gateway's OpenTelemetry spans (strangler.tracing, #27): one server span per request with
the routing's facts, the apps' own instrumentation nested under it, and the shadow call as a
span of its own linked to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping

import httpx
import pytest
from fastapi import FastAPI
from flask import Flask, jsonify
from opentelemetry import propagate, trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.flask import FlaskInstrumentor
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from strangler.assembly import create_gateway
from strangler.gateway.dispatch import Gateway
from strangler.shadow.tap import ShadowLimits, ShadowTap
from strangler.testing import override_flags
from strangler.tracing import TracedGateway, TracedShadow
from strangler.tracing.spans import _answered_by_gateway
from strangler.types import Message, Receive, Scope, Send
from tests.support.asgi import http_scope
from tests.support.bytecodes import bytecodes_per_call

TOKEN = "tracing-test-admin-token"
CALLER = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"  # a caller's traceparent
# Bytecodes of strangler/tracing per traced request (the gateway's own are budgeted apart, in
# tests/gateway/test_dispatch_cost.py). It was 511 before the review of #27 (item 13): 365 now.
TRACING_BUDGET = 380


@pytest.fixture(scope="module")
def provider() -> TracerProvider:
    """The process's tracer provider (set once, as a service does), for the gateway and apps."""
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current
    made = TracerProvider()
    trace.set_tracer_provider(made)
    return made


@pytest.fixture
def spans(provider: TracerProvider) -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()  # the processor stays, exporting nothing more


def apps(provider: TracerProvider) -> tuple[Flask, FastAPI]:
    """A legacy and a migrated app, each with its framework's own OpenTelemetry
    instrumentation."""
    legacy = Flask(__name__)

    @legacy.get("/items/<int:item_id>")
    def legacy_item(item_id: int) -> object:
        return jsonify(item=item_id)

    migrated = FastAPI()

    @migrated.get("/items/{item_id}")
    async def migrated_item(item_id: int) -> dict[str, int]:
        return {"item": item_id}

    FlaskInstrumentor().instrument_app(legacy, tracer_provider=provider)
    FastAPIInstrumentor.instrument_app(migrated, tracer_provider=provider)
    return legacy, migrated


@pytest.fixture
def gateway(provider: TracerProvider) -> Iterator[Gateway]:
    legacy, migrated = apps(provider)
    tap = ShadowTap(limits=ShadowLimits(max_cpu=float("inf")))  # shadow however busy
    gateway = create_gateway(
        legacy, migrated, "memory:", admin_token=TOKEN, tracing=True, shadow=tap
    )
    yield gateway
    gateway.close()


@pytest.fixture
async def client(gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client


def server_span(finished: tuple[ReadableSpan, ...]) -> ReadableSpan:
    """The one gateway span among `finished` (not a shadow call's)."""
    (span,) = [s for s in ours(finished) if not s.name.startswith("shadow ")]
    return span


def ours(finished: tuple[ReadableSpan, ...]) -> list[ReadableSpan]:
    return [s for s in finished if s.instrumentation_scope.name == "strangler"]


def under(finished: tuple[ReadableSpan, ...], parent: ReadableSpan) -> list[ReadableSpan]:
    """The spans whose parent is `parent`, and theirs, and so on."""
    found, ids = [], {parent.context.span_id}
    for span in sorted(finished, key=lambda s: s.start_time or 0):
        if span.parent is not None and span.parent.span_id in ids:
            found.append(span)
            ids.add(span.context.span_id)
    return found


def test_tracing_on_builds_the_traced_gateway_and_off_the_plain_one() -> None:
    """`tracing = true` builds a TracedGateway; the default builds the plain Gateway."""
    legacy, migrated = Flask(__name__), FastAPI()
    traced = create_gateway(legacy, migrated, "memory:", tracing=True)
    plain = create_gateway(legacy, migrated, "memory:")
    assert isinstance(traced, TracedGateway)
    assert type(plain) is Gateway


async def test_a_legacy_request_has_a_server_span_with_the_flask_span_under_it(
    client: httpx.AsyncClient, spans: InMemorySpanExporter
) -> None:
    """The gateway span continues the caller's trace, names the endpoint and the routing, and
    Flask's own span nests under it."""
    answer = await client.get("/items/7", headers={"traceparent": CALLER})
    assert answer.status_code == 200
    finished = spans.get_finished_spans()
    span = server_span(finished)
    assert span.kind is trace.SpanKind.SERVER
    assert span.name == "GET /items/{item_id}"
    assert format(span.context.trace_id, "032x") == CALLER.split("-")[1]
    assert span.attributes is not None
    assert span.attributes["strangler.backend"] == "legacy"
    assert span.attributes["strangler.reason"] == "default"
    assert span.attributes["strangler.endpoint"] == "GET /items/{item_id}"
    assert isinstance(span.attributes["strangler.flags.version"], int)
    assert span.attributes["http.response.status_code"] == 200
    nested = under(finished, span)
    assert [s.instrumentation_scope.name for s in nested] == ["opentelemetry.instrumentation.flask"]


async def test_a_migrated_request_has_the_fastapi_span_under_the_gateway_span(
    gateway: Gateway, client: httpx.AsyncClient, spans: InMemorySpanExporter
) -> None:
    """On migrated, FastAPI's spans nest under the gateway span, which says so."""
    with override_flags(gateway, {"GET /items/{item_id}": "migrated"}):
        answer = await client.get("/items/7")
    assert answer.headers["x-strangler-backend"] == "migrated"
    finished = spans.get_finished_spans()
    span = server_span(finished)
    assert span.attributes is not None
    assert span.attributes["strangler.backend"] == "migrated"
    assert span.attributes["strangler.reason"] == "static"
    scopes = {s.instrumentation_scope.name for s in under(finished, span)}
    assert scopes == {"opentelemetry.instrumentation.fastapi"}


async def test_a_canary_request_carries_its_bucket(
    gateway: Gateway, client: httpx.AsyncClient, spans: InMemorySpanExporter
) -> None:
    """A canary split puts the caller's bucket on the span."""
    with override_flags(gateway, {"GET /items/{item_id}": ("canary", 50.0)}):
        await client.get("/items/7", headers={"X-Forwarded-For": "10.0.0.7"})
    span = server_span(spans.get_finished_spans())
    assert span.attributes is not None
    assert span.attributes["strangler.reason"] in ("split", "random")
    assert 0 <= int(str(span.attributes["strangler.canary.bucket"])) < 10_000


async def test_a_shadowed_request_has_a_shadow_span_linked_to_its_own(
    gateway: Gateway, client: httpx.AsyncClient, spans: InMemorySpanExporter
) -> None:
    """The shadow call to migrated is a span of its own trace, linked to the request's span,
    with FastAPI's span under it; the request's span says it was shadowed."""
    assert gateway.runtime is not None
    gateway.runtime.service.shadow(  # type: ignore[attr-defined]
        "GET /items/{item_id}", 100, actor="test", reason="watch"
    )
    gateway.watcher.refresh()
    answer = await client.get("/items/7", headers={"traceparent": CALLER})
    assert answer.headers["x-strangler-backend"] == "legacy"
    finished = spans.get_finished_spans()
    span = server_span(finished)
    assert span.attributes is not None
    assert span.attributes["strangler.shadow"] == "shadowed"
    (shadow,) = [s for s in finished if s.name == "shadow GET /items/{item_id}"]
    assert shadow.parent is None
    assert shadow.context.trace_id != span.context.trace_id
    assert [link.context.span_id for link in shadow.links] == [span.context.span_id]
    assert shadow.attributes is not None
    assert shadow.attributes["strangler.backend"] == "migrated"
    scopes = {s.instrumentation_scope.name for s in under(finished, shadow)}
    assert scopes == {"opentelemetry.instrumentation.fastapi"}
    # The served call's Flask span is under the request's span, and only it: the sandboxed
    # replay of legacy that learns the noise (A/A) has a linked span of its own.
    flask = "opentelemetry.instrumentation.flask"
    served = [s for s in under(finished, span) if s.instrumentation_scope.name == flask]
    assert len({s.context.trace_id for s in served}) == 1
    assert len([s for s in served if s.parent == span.context]) == 1
    (again,) = [s for s in finished if s.name == "shadow calibration GET /items/{item_id}"]
    assert again.parent is None
    assert [link.context.span_id for link in again.links] == [span.context.span_id]
    assert again.attributes is not None
    assert again.attributes["strangler.shadow"] == "calibration"
    assert again.attributes["strangler.backend"] == "legacy"
    assert flask in {s.instrumentation_scope.name for s in under(finished, again)}


async def test_a_refused_force_is_marked_as_the_gateways_answer(
    client: httpx.AsyncClient, spans: InMemorySpanExporter
) -> None:
    """A force header without the credential is answered 401 by the gateway, and the span
    says so; no app span is made."""
    answer = await client.get("/items/7", headers={"X-Strangler-Force-Backend": "migrated"})
    assert answer.status_code == 401
    finished = spans.get_finished_spans()
    span = server_span(finished)
    assert span.attributes is not None
    assert span.attributes["strangler.answered_by"] == "gateway"
    assert span.attributes["strangler.gateway_answer"] == "force-refused"
    assert under(finished, span) == []


async def test_a_shed_request_is_marked_as_the_gateways_answer(
    provider: TracerProvider, spans: InMemorySpanExporter
) -> None:
    """A request over the backend's capacity is answered 503 by the gateway, marked shed."""
    legacy, migrated = apps(provider)
    gateway = create_gateway(legacy, migrated, "memory:", tracing=True, legacy_queue=0)
    gateway._legacy_pool = None  # no thread to spare: every legacy request is over capacity
    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        answer = await client.get("/items/7")
    gateway.close()
    assert answer.status_code == 503
    span = server_span(spans.get_finished_spans())
    assert span.attributes is not None
    assert span.attributes["strangler.gateway_answer"] == "shed"
    assert span.attributes["strangler.reason"] == "shed"


async def test_admin_requests_are_not_traced(
    client: httpx.AsyncClient, spans: InMemorySpanExporter
) -> None:
    """Health checks and scrapes make no gateway span."""
    assert (await client.get("/_strangler/health")).status_code == 200
    assert ours(spans.get_finished_spans()) == []


async def test_an_admin_request_the_gateway_serves_outside_the_mount_is_not_traced(
    gateway: Gateway, spans: InMemorySpanExporter
) -> None:
    """A path that only shares the mount's first letters ("/_s" before "/_strangler/health")
    is the admin API's for the gateway, and for the tracing too: no span is made."""
    transport = httpx.ASGITransport(app=gateway, root_path="/_s")
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        answer = await client.get("/_strangler/health")
    assert "x-strangler-backend" not in answer.headers  # the admin API's answer, not an app's
    assert ours(spans.get_finished_spans()) == []


class CountedFields(TraceContextTextMapPropagator):
    """The W3C propagator, counting how often its header fields are read."""

    reads = 0

    @property
    def fields(self) -> set[str]:
        self.reads += 1
        return super().fields


async def test_the_propagators_fields_are_read_once_not_per_request(
    client: httpx.AsyncClient, spans: InMemorySpanExporter
) -> None:
    """The propagator's header names are read once for all requests, and a propagator set
    later (as `opentelemetry-instrument` may do) is read once in its turn and used."""
    first, then = CountedFields(), CountedFields()
    previous = propagate.get_global_textmap()
    statuses = []
    try:
        for textmap in (first, then):
            propagate.set_global_textmap(textmap)
            for _ in range(3):
                answer = await client.get("/items/7", headers={"traceparent": CALLER})
                statuses.append(answer.status_code)
    finally:
        propagate.set_global_textmap(previous)
    assert statuses == [200] * 6
    assert (first.reads, then.reads) == (1, 1)
    traced = ours(spans.get_finished_spans())
    assert [format(s.context.trace_id, "032x") for s in traced] == [CALLER.split("-")[1]] * 6


async def test_a_traced_request_stays_within_its_bytecode_budget(gateway: Gateway) -> None:
    """The tracing's own code (strangler/tracing) runs at most TRACING_BUDGET bytecodes for a
    request that continues a caller's trace: the SDK's span is the cost, not our wrapping."""

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        pass

    headers = [(b"host", b"x"), (b"accept", b"*/*"), (b"traceparent", CALLER.encode())]

    async def request() -> None:
        await gateway(http_scope("/items/7", headers=headers), receive, send)

    _, split = await bytecodes_per_call(request)
    tracing = {name: n / 20 for name, n in split.items() if name.startswith("spans.py:")}
    assert sum(tracing.values()) <= TRACING_BUDGET, sorted(tracing.items())


def test_a_gateway_answer_is_marked_in_one_call() -> None:
    """The gateway's own answer is written on the span with one set_attributes (each call takes
    the span's lock)."""
    calls: list[tuple[str, object]] = []

    class Recorded(trace.NonRecordingSpan):
        def set_attribute(self, key: str, value: object) -> None:
            calls.append(("set_attribute", key))

        def set_attributes(self, attributes: Mapping[str, object]) -> None:
            calls.append(("set_attributes", dict(attributes)))

    _answered_by_gateway(Recorded(trace.INVALID_SPAN_CONTEXT), "force-refused")
    expected = {"strangler.answered_by": "gateway", "strangler.gateway_answer": "force-refused"}
    assert calls == [("set_attributes", expected)]


def test_the_traced_shadow_has_the_shadow_protocols_methods_and_no_others() -> None:
    """TracedShadow spells out the Shadow protocol (so mypy checks it) and forwards nothing
    else: the tap's records are read from the tap (`inner`)."""
    tap = ShadowTap()
    traced = TracedShadow(tap, trace.NoOpTracer())
    for name in ("wants", "skipped_busy", "serve_unshadowed", "serve"):
        assert name in vars(TracedShadow)
    assert traced.inner is tap
    with pytest.raises(AttributeError):
        traced.records  # noqa: B018  # the tap's, not the shadow protocol's


async def test_an_exception_escaping_the_app_is_recorded_on_the_ended_span(
    provider: TracerProvider, spans: InMemorySpanExporter
) -> None:
    """An exception the migrated app lets escape ends the span with status ERROR and the
    exception recorded, and still reaches the server."""

    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        raise LookupError("gone")

    gateway = create_gateway(Flask(__name__), FastAPI(), "memory:", tracing=True)
    gateway.legacy = broken  # paths no app declares go to legacy
    with pytest.raises(LookupError):
        await gateway(http_scope("/nowhere"), receive_nothing, send_nothing)
    gateway.close()
    span = server_span(spans.get_finished_spans())
    assert span.status.status_code is trace.StatusCode.ERROR
    assert [event.name for event in span.events] == ["exception"]


async def receive_nothing() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def send_nothing(message: Message) -> None:
    pass
