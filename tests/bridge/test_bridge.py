"""The WSGI bridge (strangler.bridge.bridge): its two paths, answered whole and streamed.

The environ it builds is tested in test_environ.py, the request body in test_streams.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from strangler.bridge.bridge import make_bridge
from strangler.types import ASGIApp, Environ, Message, Scope
from tests.support.asgi import FakeClient, http_scope
from tests.support.bytecodes import bytecodes_per_call
from tests.support.waiting import wait_until_async

TEXT = [("Content-Type", "text/plain")]


async def call(app: ASGIApp, scope: Scope | None = None, client: FakeClient | None = None) -> Any:
    client = client or FakeClient()
    await asyncio.wait_for(app(scope or http_scope(), client.receive, client.send), timeout=10)
    return client


def wsgi(body: Iterable[bytes], status: str = "200 OK", headers: Any = None) -> Any:
    """A raw WSGI app answering `body` (called anew per request if it is a callable)."""

    def app(environ: Environ, start_response: Any) -> Iterable[bytes]:
        start_response(status, headers if headers is not None else TEXT)
        return body

    return app


# --- answered whole -------------------------------------------------------------------------


async def test_flask_response_leaves_as_one_body_message() -> None:
    """Flask's ordinary response (one chunk, its whole declared length) is sent as one start
    and one body message: the bridge does not wait for the iterable to end to know it is done."""
    flask_app = Flask(__name__)
    flask_app.add_url_rule("/", view_func=lambda: {"hello": "world"})
    client = await call(make_bridge(flask_app))
    assert [m["type"] for m in client.sent] == ["http.response.start", "http.response.body"]
    assert client.body == b'{"hello":"world"}\n'
    assert client.sent[1].get("more_body", False) is False


async def test_a_complete_body_is_sent_before_the_iterable_ends() -> None:
    """Once the declared length is yielded, the client has its answer while the app finishes;
    the app's code after its last chunk still runs, as under gunicorn."""
    release, finished = threading.Event(), threading.Event()

    def app(environ: Environ, start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Length", "5"), *TEXT])
        yield b"hello"
        release.wait(timeout=5)
        finished.set()

    client = FakeClient()
    task = asyncio.create_task(call(make_bridge(app), client=client))
    await asyncio.wait_for(task, timeout=3)  # answered while the generator still waits
    assert (client.body, len(client.body_messages)) == (b"hello", 1)
    release.set()
    assert await asyncio.to_thread(finished.wait, 3)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(lambda: [b"hello world"], id="list"),
        pytest.param(lambda: iter([b"hello world"]), id="whole-at-first-chunk"),
        pytest.param(lambda: iter([b"hel", b"lo wo", b"rld"]), id="streamed"),
    ],
)
async def test_bytes_past_the_declared_length_are_not_sent(body: Any) -> None:
    """An app that yields more than its Content-Length says is cut at that length, on every
    path, as gunicorn does (uvicorn would abort the response instead)."""

    def app(environ: Environ, start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Length", "5")])
        return body()  # type: ignore[no-any-return]

    client = await call(make_bridge(app))
    assert client.body == b"hello"


async def test_write_between_yields_keeps_its_place() -> None:
    """Bytes given to write() by a generator, before or between its chunks, come in order."""

    def app(environ: Environ, start_response: Any) -> Iterator[bytes]:
        write = start_response("200 OK", TEXT)
        write(b"a")
        yield b"b"
        write(b"c")
        yield b"d"
        write(b"e")

    client = await call(make_bridge(app))
    assert client.body == b"abcde"


async def test_list_response_takes_the_lean_path_without_content_length() -> None:
    """A list body is joined into one message even when no length is declared."""
    client = await call(make_bridge(wsgi([b"a", b"b", b"c"])))
    assert len(client.body_messages) == 1
    assert client.body == b"abc"


async def test_iterable_is_closed_on_the_lean_path() -> None:
    """The app's iterable is closed once its body is joined."""
    closed = threading.Event()

    class Body(list[bytes]):
        def close(self) -> None:
            closed.set()

    await call(make_bridge(wsgi(Body([b"x"]))))
    assert closed.is_set()


async def test_small_request_body_is_read_whole_before_the_app() -> None:
    """A small body of known length reaches the app as one buffered input."""
    seen: list[bytes] = []

    def app(environ: Environ, start_response: Any) -> list[bytes]:
        seen.append(environ["wsgi.input"].read())
        start_response("204 No Content", [])
        return []

    scope = http_scope(method="POST", headers=[(b"content-length", b"6")])
    client = await call(make_bridge(app), scope, FakeClient(b"abc", b"def"))
    assert seen == [b"abcdef"]
    assert client.status == 204


async def test_client_leaving_before_its_body_gets_no_answer() -> None:
    """A client gone before its body arrived gets nothing and the app never runs."""
    calls: list[str] = []

    def app(environ: Environ, start_response: Any) -> list[bytes]:
        calls.append(environ["PATH_INFO"])
        start_response("200 OK", TEXT)
        return [b"never"]

    client = FakeClient()
    client.inbox = asyncio.Queue()
    client.disconnect()
    scope = http_scope(method="POST", headers=[(b"content-length", b"6")])
    await call(make_bridge(app), scope, client)
    assert client.sent == []
    assert calls == []


async def test_contextvars_of_the_caller_reach_the_app() -> None:
    """A contextvar the gateway set is visible inside the WSGI app's thread."""
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    seen: list[str] = []

    def app(environ: Environ, start_response: Any) -> list[bytes]:
        seen.append(var.get())
        start_response("200 OK", TEXT)
        return [b""]

    var.set("from the gateway")
    await call(make_bridge(app))
    assert seen == ["from the gateway"]


async def test_threads_bound_how_many_requests_run_at_once() -> None:
    """With threads=2, at most two requests are inside the app at any moment."""
    lock = threading.Lock()
    running, peak = 0, 0

    def app(environ: Environ, start_response: Any) -> list[bytes]:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)  # inside the app a while, so that requests would overlap
        with lock:
            running -= 1
        start_response("200 OK", TEXT)
        return [b"ok"]

    bridge = make_bridge(app, threads=2)
    await asyncio.gather(*(call(bridge) for _ in range(6)))
    assert peak == 2


# --- the general path -----------------------------------------------------------------------


async def test_generator_response_streams_one_message_per_chunk() -> None:
    """Each chunk of a generator becomes its own body message, in order, then an empty last one."""

    def app(environ: Environ, start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", TEXT)
        yield from (b"one", b"", b"two")

    client = await call(make_bridge(app))
    bodies = [(m["body"], m.get("more_body", False)) for m in client.body_messages]
    assert bodies == [(b"one", True), (b"two", True), (b"", False)]


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(TEXT, id="no-length"),
        pytest.param([("Content-Length", "11"), *TEXT], id="small-declared-length"),
    ],
)
async def test_streamed_chunk_reaches_the_client_while_the_generator_waits(
    headers: list[tuple[str, str]],
) -> None:
    """The first chunk is sent before the generator yields its second, whatever length it
    declared: a small Content-Length does not mean the body is ready (#12)."""
    release = threading.Event()

    def app(environ: Environ, start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", headers)
        yield b"first"
        release.wait(timeout=5)
        yield b"second" if release.is_set() else b"timed out"

    client = FakeClient()
    task = asyncio.create_task(call(make_bridge(app), client=client))
    await asyncio.wait_for(client.first_chunk.wait(), timeout=3)
    assert not release.is_set()
    release.set()
    await task
    assert client.body == b"firstsecond"


@pytest.mark.parametrize("declared", [None, "8"], ids=["no-length", "small-declared-length"])
async def test_disconnect_during_a_slow_stream_frees_the_thread_at_its_next_chunk(
    declared: str | None,
) -> None:
    """A slow stream (httpbin's /drip) whose client left stops at its next chunk, whatever
    length it declared, so abandoned streams do not hold the legacy threads (#12)."""
    closed = threading.Event()

    def app(environ: Environ, start_response: Any) -> Iterator[bytes]:
        length = [("Content-Length", declared)] if declared else []
        start_response("200 OK", [*length, *TEXT])
        try:
            for _ in range(8):  # 8 s if nothing stops it
                yield b"*"
                time.sleep(0.2)
        finally:
            closed.set()

    client = FakeClient()
    task = asyncio.create_task(call(make_bridge(app), client=client))
    await asyncio.wait_for(client.first_chunk.wait(), timeout=3)
    client.disconnect()
    assert await asyncio.to_thread(closed.wait, 2)
    await task
    assert client.body == b"*"


async def test_a_request_whose_client_left_while_it_waited_is_never_started() -> None:
    """With every thread taken, a queued request whose client leaves is dropped, not run."""
    release = threading.Event()
    started: list[str] = []

    def app(environ: Environ, start_response: Any) -> list[bytes]:
        started.append(environ["PATH_INFO"])
        release.wait(timeout=5)
        start_response("200 OK", TEXT)
        return [b"ok"]

    bridge = make_bridge(app, threads=1)
    busy = asyncio.create_task(call(bridge, http_scope("/first")))
    await wait_until_async(lambda: started, what="/first in the one thread")
    leaving = FakeClient()
    queued = asyncio.create_task(call(bridge, http_scope("/queued"), leaving))
    await wait_until_async(lambda: bridge.busy == 2, what="/queued waiting for the thread")
    leaving.disconnect()
    # Past WATCH_AFTER the bridge watches the waiting request: it reads the disconnect.
    await wait_until_async(lambda: leaving.inbox.empty(), what="the bridge seeing it go")
    release.set()
    await asyncio.gather(busy, queued)
    assert started == ["/first"]
    assert leaving.sent == []


async def test_disconnect_mid_stream_closes_the_iterable_within_2s() -> None:
    """When the client leaves mid-stream, the generator is closed and its thread freed in 2 s."""
    closed = threading.Event()

    def app(environ: Environ, start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", TEXT)
        try:
            for i in range(1000):  # at most 10 s if nothing stops it
                yield b"tick %d\n" % i
                time.sleep(0.01)
        finally:
            closed.set()

    client = FakeClient()
    task = asyncio.create_task(call(make_bridge(app), client=client))
    await asyncio.wait_for(client.first_chunk.wait(), timeout=3)
    client.disconnect()
    left = time.monotonic()
    await asyncio.wait_for(asyncio.to_thread(closed.wait, 2), timeout=3)
    assert closed.is_set()
    assert time.monotonic() - left < 2
    await task


async def test_slow_client_holds_the_generator_back() -> None:
    """A client that stops reading stops the generator after send_queue_size chunks in flight."""
    produced = 0

    def app(environ: Environ, start_response: Any) -> Iterator[bytes]:
        nonlocal produced
        start_response("200 OK", TEXT)
        for _ in range(100):
            produced += 1
            yield b"x"

    client = FakeClient()
    unblock = asyncio.Event()
    record = client.send

    async def stuck_send(message: Message) -> None:
        await record(message)
        if message["type"] == "http.response.body":
            await unblock.wait()  # the client's socket buffer is full

    client.send = stuck_send  # type: ignore[method-assign]
    task = asyncio.create_task(call(make_bridge(app, send_queue_size=3), client=client))
    await asyncio.wait_for(client.first_chunk.wait(), timeout=3)
    await asyncio.sleep(0.2)  # time for a generator not held back to run on: nothing to await
    # In flight: the start message, the chunk being sent, and up to 3 queued: the rest waits.
    assert produced <= 5
    unblock.set()
    await task
    assert client.body == b"x" * 100


@pytest.mark.parametrize(
    "framing",
    [
        pytest.param((b"transfer-encoding", b"chunked"), id="chunked"),
        pytest.param((b"content-length", b"20"), id="over-max-buffered-body"),
    ],
)
async def test_unbuffered_request_body_streams_into_the_app(framing: tuple[bytes, bytes]) -> None:
    """A chunked or big body reaches the app as it arrives: its start before the rest exists."""
    started = asyncio.Event()
    loop = asyncio.get_running_loop()

    def app(environ: Environ, start_response: Any) -> list[bytes]:
        first = environ["wsgi.input"].readline()
        loop.call_soon_threadsafe(started.set)
        rest = environ["wsgi.input"].read()
        start_response("200 OK", TEXT)
        return [first, b"|", rest]

    client = FakeClient()
    client.inbox = asyncio.Queue()
    client.inbox.put_nowait({"type": "http.request", "body": b"12345\n", "more_body": True})
    scope = http_scope(method="POST", headers=[framing])
    task = asyncio.create_task(call(make_bridge(app, max_buffered_body=8), scope, client))
    await asyncio.wait_for(started.wait(), timeout=3)  # a buffering bridge never gets here
    rest = {"type": "http.request", "body": b"6789\nabcdefghi", "more_body": False}
    client.inbox.put_nowait(rest)
    await task
    assert client.body == b"12345\n|6789\nabcdefghi"


async def test_start_response_inside_the_iterable_is_honoured() -> None:
    """A generator app that calls start_response on its first step still gets its status."""

    def app(environ: Environ, start_response: Any) -> Iterator[bytes]:
        start_response("201 Created", TEXT)
        yield b"made"

    client = await call(make_bridge(app))
    assert (client.status, client.body) == (201, b"made")


async def test_write_callable_output_comes_before_the_iterable() -> None:
    """Bytes given to the legacy write() callable precede the returned body."""

    def app(environ: Environ, start_response: Any) -> list[bytes]:
        start_response("200 OK", TEXT)(b"written ")
        return [b"returned"]

    client = await call(make_bridge(app))
    assert client.body == b"written returned"


# --- errors ---------------------------------------------------------------------------------


async def test_app_error_before_start_answers_500_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An app raising before any byte was sent gets a 500, and the error is logged."""

    def app(environ: Environ, start_response: Any) -> list[bytes]:
        raise RuntimeError("boom")

    with caplog.at_level(logging.ERROR, logger="strangler.bridge.bridge"):
        client = await call(make_bridge(app), http_scope("/boom"))
    assert (client.status, client.body) == (500, b"Internal Server Error")
    assert "GET /boom" in caplog.text
    assert "RuntimeError: boom" in caplog.text


async def test_generator_error_before_its_first_byte_answers_500(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A generator raising before its first chunk still gets a clean 500."""

    def app(environ: Environ, start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", TEXT)
        raise RuntimeError("boom")
        yield b"never"

    with caplog.at_level(logging.ERROR, logger="strangler.bridge.bridge"):
        client = await call(make_bridge(app))
    assert (client.status, client.body) == (500, b"Internal Server Error")


async def test_app_error_after_the_first_byte_raises_so_the_server_aborts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An error mid-stream is logged and raised, so the server breaks the connection."""

    def app(environ: Environ, start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", TEXT)
        yield b"half"
        raise RuntimeError("boom")

    client = FakeClient()
    with (
        caplog.at_level(logging.ERROR, logger="strangler.bridge.bridge"),
        pytest.raises(RuntimeError),
    ):
        await call(make_bridge(app), client=client)
    assert client.body == b"half"
    assert all(m.get("more_body", False) for m in client.body_messages)
    assert "mid-response" in caplog.text


async def test_exc_info_before_the_first_byte_replaces_status_and_headers() -> None:
    """start_response with exc_info before any byte replaces the status and headers."""

    def app(environ: Environ, start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [("X-First", "1")])
        try:
            raise ValueError("late failure")
        except ValueError:
            start_response("503 Service Unavailable", TEXT, sys.exc_info())
        yield b"error page"

    client = await call(make_bridge(app))
    assert (client.status, client.headers) == (503, [(b"content-type", b"text/plain")])


async def test_start_response_twice_without_exc_info_answers_500(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A second start_response without exc_info is the app's bug: logged, answered 500."""

    def app(environ: Environ, start_response: Any) -> list[bytes]:
        start_response("200 OK", TEXT)
        start_response("404 Not Found", TEXT)
        return [b""]

    with caplog.at_level(logging.ERROR, logger="strangler.bridge.bridge"):
        client = await call(make_bridge(app))
    assert client.status == 500
    assert "start_response was called twice" in caplog.text


# --- other scopes ---------------------------------------------------------------------------


async def test_lifespan_startup_and_shutdown_complete() -> None:
    """The bridge answers lifespan startup and shutdown, having nothing to start."""
    client = FakeClient()
    client.inbox = asyncio.Queue()
    client.inbox.put_nowait({"type": "lifespan.startup"})
    client.inbox.put_nowait({"type": "lifespan.shutdown"})
    await call(make_bridge(wsgi([])), {"type": "lifespan"}, client)
    assert [m["type"] for m in client.sent] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]


async def test_websocket_is_closed() -> None:
    """A websocket connection is closed: WSGI cannot speak it."""
    client = await call(make_bridge(wsgi([])), {"type": "websocket", "path": "/"})
    assert client.sent == [{"type": "websocket.close", "code": 1000}]


async def test_a_request_given_up_while_it_waits_for_a_thread_is_not_run() -> None:
    """A shadow call that timed out while queued for a legacy thread must not run later and
    take a thread from the clients."""
    release = threading.Event()
    started: list[str] = []

    def app(environ: Environ, start_response: Any) -> list[bytes]:
        started.append(environ["PATH_INFO"])
        release.wait(timeout=5)
        start_response("200 OK", [])
        return [b"ok"]

    async def call(path: str) -> None:
        sent: list[Any] = []

        async def receive() -> dict[str, Any]:
            await asyncio.sleep(10)  # a client that stays
            return {"type": "http.disconnect"}

        async def send(message: Any) -> None:
            sent.append(message)

        await bridge(http_scope(path), receive, send)

    bridge = make_bridge(app, threads=1)
    busy = asyncio.create_task(call("/busy"))
    await wait_until_async(lambda: started, what="/busy in the one thread")
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(call("/shadow"), timeout=0.05)
    release.set()
    await busy
    await call("/after")  # queued behind whatever was queued before it, in the one thread
    assert started == ["/busy", "/after"]


# --- cost ------------------------------------------------------------------------------------

# Bytecodes of strangler/bridge/ run on the event loop per bodiless GET (the worker thread's
# share is not traced): what the bridge adds to every legacy request. 680 before #21's
# hot-path work.
BUDGET = 660


async def test_a_bodiless_get_stays_within_its_bytecode_budget_on_the_loop() -> None:
    """Handing a GET without a body to a worker thread and its answer back costs the event
    loop at most BUDGET bytecodes of the bridge."""
    bridge = make_bridge(wsgi([b"ok"]), threads=2)
    headers = [(b"host", b"x"), (b"accept", b"*/*"), (b"user-agent", b"test")]
    folder = str(Path(make_bridge.__code__.co_filename).parent)

    async def request() -> None:
        client = await call(bridge, http_scope("/", headers=headers))
        assert client.sent[-1]["body"] == b"ok"

    try:
        per_request, split = await bytecodes_per_call(request, under=folder)
    finally:
        bridge.pool.shutdown()
    assert per_request <= BUDGET, f"{per_request:.0f} bytecodes a request: {split.most_common()}"
