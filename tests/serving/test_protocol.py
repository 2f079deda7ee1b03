"""GuardedProtocol (strangler/serving/protocol.py) in process: each limit, as a client sees it.

As uvicorn tests its own protocols: a fake transport stands for the socket, records what the
server writes and whether it closed the connection; the test feeds the protocol the bytes a
client would send, and the loop runs until the app has answered. Timeouts are driven by the
loop's clock, moved on by hand, so a two-second limit takes no time to reach. A refusal happens
as the bytes arrive or as the clock is moved, so the tests look at once whether the connection
is closed: waiting in real time would let the real clock do the work of the one under test.

The limits here are small (`LIMITS`); tests/e2e/test_limits.py checks the same protocol
behind a real `strangler serve`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from uvicorn.config import Config
from uvicorn.protocols.http.flow_control import HIGH_WATER_LIMIT
from uvicorn.server import ServerState

from strangler.serving.limits import Limits
from strangler.serving.protocol import SWEEP_EVERY, GuardedProtocol, configure
from strangler.types import Receive, Scope, Send
from tests.support.bytecodes import bytecodes_per_call
from tests.support.waiting import wait_until_async

LIMITS = Limits(
    max_header_bytes=1024,
    max_headers=10,
    header_timeout=2.0,
    body_timeout=3.0,
    keep_alive_timeout=5,
    max_connections=3,
    max_body=1000,
)
# Past a time limit by this much, the sweep (every SWEEP_EVERY seconds) has seen it.
PAST = 2 * SWEEP_EVERY


# --- the pieces: a clock, an app, a connection, a server -----------------------------------------


class Clock:
    """The running loop's clock, moved on by hand: timers fall due as if the time had passed."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._real = loop.time
        self._ahead = 0.0

    def time(self) -> float:
        return self._real() + self._ahead

    async def advance(self, seconds: float) -> None:
        """Moves the clock on, then lets the loop run what fell due (and what that scheduled)."""
        self._ahead += seconds
        await settle()


async def settle() -> None:
    """Lets the loop run a few rounds: due timers, the tasks they wake, the closes they cause."""
    for _ in range(10):
        await asyncio.sleep(0)


class App:
    """An ASGI app that reads the whole body and answers 200 with its length.

    `hold`: it waits for this event before reading the body. `answer_first`: it starts its
    (streamed) answer before reading the body, as an echo would."""

    def __init__(self) -> None:
        self.called: list[str] = []  # the paths of the requests that reached it
        self.left: list[str] = []  # those whose client it saw leave (http.disconnect)
        self.hold: asyncio.Event | None = None
        self.answer_first = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.called.append(scope["path"])
        if self.answer_first:
            await send({"type": "http.response.start", "status": 200, "headers": []})
        if self.hold is not None:
            await self.hold.wait()
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.left.append(scope["path"])
                return
            size += len(message.get("body", b""))
            more = message.get("more_body", False)
        answer = str(size).encode()
        if not self.answer_first:
            headers = [(b"content-length", str(len(answer)).encode())]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": answer})


class Connection:
    """The server's end of a socket (an asyncio transport), read by the test as the client would:
    what came back (`received`, `statuses`) and whether the server closed the connection."""

    def __init__(self, loop: asyncio.AbstractEventLoop, protocol: GuardedProtocol) -> None:
        self.loop = loop
        self.protocol = protocol
        self.received = bytearray()
        self.closed = False
        self.read_paused = False

    # What the protocol calls, as on asyncio's socket transport.

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(
            name, default
        )

    def write(self, data: bytes) -> None:
        if not self.closed:  # asyncio drops what is written after close()
            self.received += data

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.loop.call_soon(self.protocol.connection_lost, None)  # as asyncio does

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        self.read_paused = True

    def resume_reading(self) -> None:
        self.read_paused = False

    # What the client does and sees.

    def send(self, data: bytes) -> None:
        assert not self.closed, "the server has closed the connection"
        assert not self.read_paused, "the server is not reading (a real client would wait)"
        self.protocol.data_received(data)

    @property
    def statuses(self) -> list[int]:
        """The status of every answer received so far, in order (the bodies here are numbers and
        status phrases, so a status line is never mistaken for a body)."""
        return [int(code) for code in re.findall(rb"HTTP/1\.1 (\d{3}) ", self.received)]

    async def answers(self, count: int) -> list[int]:
        """Waits until `count` answers have come; returns their statuses."""
        await wait_until_async(lambda: len(self.statuses) >= count, what=f"{count} answer(s)")
        return self.statuses


class Server:
    """One uvicorn worker's state with GuardedProtocol, without a socket: `connect` opens a
    Connection on it, as a client connecting would."""

    def __init__(self, app: App, loop: asyncio.AbstractEventLoop) -> None:
        self.app = app
        self.loop = loop
        self.state = ServerState()
        self.config = Config(
            app=app,
            interface="asgi3",
            lifespan="off",
            log_config=None,  # leaves the test run's logging alone
            proxy_headers=False,
            timeout_keep_alive=LIMITS.keep_alive_timeout,  # as `strangler serve` passes it
        )
        self.connections: list[Connection] = []

    def connect(self) -> Connection:
        protocol = GuardedProtocol(
            config=self.config, server_state=self.state, app_state={}, _loop=self.loop
        )
        connection = Connection(self.loop, protocol)
        self.connections.append(connection)
        protocol.connection_made(connection)  # type: ignore[arg-type]
        return connection

    async def close(self) -> None:
        """Every client leaves; the app's tasks finish."""
        if self.app.hold is not None:
            self.app.hold.set()
        for connection in self.connections:
            connection.close()
        await settle()
        if self.state.tasks:
            await asyncio.wait(self.state.tasks, timeout=5)


def get(path: str = "/", *headers: bytes) -> bytes:
    return b"GET %s HTTP/1.1\r\nHost: example.org\r\n%s\r\n" % (
        path.encode(),
        b"".join(h + b"\r\n" for h in headers),
    )


def post(path: str, length: int) -> bytes:
    """A POST's header block declaring `length` bytes of body (the body is sent apart)."""
    return b"POST %s HTTP/1.1\r\nHost: example.org\r\nContent-Length: %d\r\n\r\n" % (
        path.encode(),
        length,
    )


CHUNKED = b"POST /upload HTTP/1.1\r\nHost: example.org\r\nTransfer-Encoding: chunked\r\n\r\n"


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def limits(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """LIMITS for this test, and the protocol's per-process tables fresh (and restored after);
    yields `change(**limits)` for a test that needs another figure."""
    for name, value in (("limits", LIMITS), ("waiting", {}), ("reading", {})):
        monkeypatch.setattr(GuardedProtocol, name, value)
    monkeypatch.setattr(GuardedProtocol, "_sweeping", None)

    def change(**figures: Any) -> None:
        configure(dataclasses.replace(LIMITS, **figures))

    yield change
    if GuardedProtocol._sweeping is not None:
        GuardedProtocol._sweeping.cancel()


@pytest.fixture
async def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    loop = asyncio.get_running_loop()
    clock = Clock(loop)
    monkeypatch.setattr(loop, "time", clock.time)
    return clock


@pytest.fixture
def app() -> App:
    return App()


@pytest.fixture
async def server(app: App, clock: Clock) -> AsyncIterator[Server]:
    server = Server(app, asyncio.get_running_loop())
    yield server
    await server.close()


# --- the header block: size ----------------------------------------------------------------------


async def test_headers_trickling_past_the_limit_are_431_as_soon_as_it_is_passed(
    server: Server,
) -> None:
    """A header that never ends is refused once max_header_bytes have come, not buffered on."""
    connection = server.connect()
    connection.send(b"GET / HTTP/1.1\r\nHost: example.org\r\nX-Big: ")
    sent = 0
    while not connection.closed and sent < 100 * LIMITS.max_header_bytes:
        connection.send(b"a" * 100)
        sent += 100
    assert connection.statuses == [431]
    assert connection.closed
    assert sent <= LIMITS.max_header_bytes
    assert server.app.called == []


async def test_a_header_block_past_the_limit_in_one_read_is_431(server: Server) -> None:
    """A whole request whose headers pass the limit, arriving in one read, is refused too."""
    connection = server.connect()
    connection.send(get("/", b"X-Big: " + b"a" * LIMITS.max_header_bytes))
    assert connection.closed
    assert connection.statuses == [431]
    assert server.app.called == []


async def test_a_header_block_just_under_the_limit_is_served(server: Server) -> None:
    """Request line and headers a little under max_header_bytes reach the app."""
    connection = server.connect()
    connection.send(get("/", b"X-Big: " + b"a" * (LIMITS.max_header_bytes - 100)))
    assert await connection.answers(1) == [200]
    assert not connection.closed


async def test_a_body_in_the_same_read_as_the_headers_does_not_count_as_header(
    server: Server,
) -> None:
    """Headers and a body that together pass max_header_bytes, in one read, are served."""
    body = b"x" * LIMITS.max_body
    assert len(post("/upload", len(body)) + body) > LIMITS.max_header_bytes
    connection = server.connect()
    connection.send(post("/upload", len(body)) + body)
    assert await connection.answers(1) == [200]
    assert connection.received.endswith(b"%d" % LIMITS.max_body)


async def test_each_request_on_a_kept_alive_connection_has_the_whole_header_limit(
    server: Server,
) -> None:
    """Requests whose headers together pass the limit are each served on one connection; one
    whose own headers pass it is refused."""
    connection = server.connect()
    big = b"X-Big: " + b"a" * (LIMITS.max_header_bytes // 2)
    for served in range(1, 5):
        connection.send(get("/", big))
        assert await connection.answers(served) == [200] * served
    connection.send(get("/", big, big))
    assert await connection.answers(5) == [200, 200, 200, 200, 431]
    assert connection.closed


async def test_a_pipelined_request_past_the_limit_in_the_read_before_it_is_431(
    server: Server,
) -> None:
    """A second request sent in the same read as the first, its own headers past the limit,
    is refused and never reaches the app: the read it began in counts for it."""
    connection = server.connect()
    big = b"X-Big: " + b"a" * (LIMITS.max_header_bytes // 2)
    connection.send(get("/first") + get("/big", big, big))
    await settle()
    assert connection.statuses[-1:] == [431]
    assert connection.closed
    assert "/big" not in server.app.called


# --- the header block: fields --------------------------------------------------------------------


async def test_too_many_header_fields_are_431(server: Server) -> None:
    """One header field more than max_headers is refused before the app runs."""
    fields = [b"X-%d: 1" % i for i in range(LIMITS.max_headers)]  # and Host: one too many
    connection = server.connect()
    connection.send(get("/", *fields))
    assert connection.closed
    assert connection.statuses == [431]
    assert server.app.called == []


async def test_as_many_header_fields_as_allowed_are_served(server: Server) -> None:
    """Exactly max_headers fields reach the app."""
    fields = [b"X-%d: 1" % i for i in range(LIMITS.max_headers - 1)]  # and Host
    connection = server.connect()
    connection.send(get("/", *fields))
    assert await connection.answers(1) == [200]


async def test_a_bare_line_break_before_the_request_line_is_served(server: Server) -> None:
    """An empty line before the first request, in a read of its own (RFC 9112 §2.2 lets a server
    skip it), is skipped and the request is served, not a fault that drops the connection."""
    connection = server.connect()
    connection.send(b"\r\n")
    connection.send(get("/"))
    assert await connection.answers(1) == [200]
    assert not connection.closed


# --- the header block: time ----------------------------------------------------------------------


async def test_a_connection_that_sends_nothing_is_408_after_header_timeout(
    server: Server, clock: Clock
) -> None:
    """A silent connection stays open until header_timeout from its opening, then is 408."""
    connection = server.connect()
    await clock.advance(LIMITS.header_timeout - PAST)
    assert not connection.closed
    await clock.advance(2 * PAST)
    assert connection.closed
    assert connection.statuses == [408]


async def test_headers_that_keep_trickling_are_408_after_header_timeout(
    server: Server, clock: Clock
) -> None:
    """Bytes arriving every half second do not buy more time: the headers' clock runs from the
    first byte."""
    connection = server.connect()
    connection.send(b"GET / HTTP/1.1\r\n")
    pieces = 0
    while not connection.closed and pieces < 4 * LIMITS.header_timeout:
        connection.send(b"X-%d: 1\r\n" % pieces)
        pieces += 1
        await clock.advance(0.5)
    assert connection.statuses == [408]
    assert pieces <= 2 * (LIMITS.header_timeout + PAST)  # cut off in time, not let go on
    assert server.app.called == []


async def test_an_idle_kept_alive_connection_is_not_held_to_the_header_timeout(
    server: Server, clock: Clock
) -> None:
    """Between requests a connection waits keep_alive_timeout, not header_timeout; the next
    request's headers then have header_timeout from their first byte."""
    assert LIMITS.header_timeout < LIMITS.keep_alive_timeout - 1
    connection = server.connect()
    connection.send(get())
    assert await connection.answers(1) == [200]
    await clock.advance(LIMITS.keep_alive_timeout - 1)
    assert not connection.closed
    connection.send(b"GET /next HTTP/1.1\r\n")
    await clock.advance(LIMITS.header_timeout - PAST)
    assert not connection.closed
    await clock.advance(2 * PAST)
    assert connection.closed
    assert connection.statuses == [200, 408]


async def test_an_idle_kept_alive_connection_is_closed_after_keep_alive_timeout(
    server: Server, clock: Clock
) -> None:
    """After its answer, a connection that sends nothing more is closed, without a word, once
    keep_alive_timeout has passed (uvicorn's timer, set from the settings)."""
    connection = server.connect()
    connection.send(get())
    assert await connection.answers(1) == [200]
    await clock.advance(LIMITS.keep_alive_timeout - PAST)
    assert not connection.closed
    await clock.advance(2 * PAST)
    assert connection.closed
    assert connection.statuses == [200]


async def test_header_timeouts_still_apply_after_a_quiet_spell(
    server: Server, clock: Clock
) -> None:
    """The sweep stops when nothing waits, and starts again for the next connection."""
    first = server.connect()
    await clock.advance(LIMITS.header_timeout + PAST)
    assert first.closed
    await clock.advance(60)  # nobody around
    second = server.connect()
    await clock.advance(LIMITS.header_timeout + PAST)
    assert second.closed
    assert (first.statuses, second.statuses) == ([408], [408])


# --- the body: size ------------------------------------------------------------------------------


async def test_a_declared_body_past_max_body_is_413_before_the_app_runs(server: Server) -> None:
    """A Content-Length over max_body is refused at once, before a byte of the body is sent."""
    connection = server.connect()
    connection.send(post("/upload", LIMITS.max_body + 1))
    assert connection.closed
    assert connection.statuses == [413]
    await settle()
    assert server.app.called == []


async def test_a_declared_body_of_max_body_is_served(server: Server) -> None:
    """A body of exactly max_body bytes reaches the app whole."""
    connection = server.connect()
    connection.send(post("/upload", LIMITS.max_body))
    connection.send(b"x" * LIMITS.max_body)
    assert await connection.answers(1) == [200]
    assert connection.received.endswith(b"\r\n\r\n%d" % LIMITS.max_body)


async def test_a_chunked_body_past_max_body_is_cut_off_with_413(server: Server) -> None:
    """No length declared: the body is counted as it comes, and refused once past max_body."""
    connection = server.connect()
    connection.send(CHUNKED)
    piece = b"x" * (LIMITS.max_body // 3)
    for _ in range(3):
        connection.send(chunk(piece))
    connection.send(chunk(piece))  # the fourth passes max_body
    assert connection.closed
    assert connection.statuses == [413]


async def test_a_chunked_body_under_max_body_is_served(server: Server) -> None:
    """A chunked body within max_body reaches the app whole."""
    connection = server.connect()
    connection.send(CHUNKED)
    piece = b"x" * (LIMITS.max_body // 3)
    for _ in range(3):
        connection.send(chunk(piece))
    connection.send(b"0\r\n\r\n")
    assert await connection.answers(1) == [200]
    assert connection.received.endswith(b"\r\n\r\n%d" % (3 * len(piece)))


async def test_a_refusal_never_writes_into_an_answer_under_way(server: Server) -> None:
    """When the app has begun answering, a body past max_body closes the connection without a
    413 written into the middle of that answer."""
    server.app.answer_first = True
    connection = server.connect()
    connection.send(CHUNKED)
    assert await connection.answers(1) == [200]
    connection.send(chunk(b"x" * (LIMITS.max_body + 1)))
    assert connection.closed
    assert connection.statuses == [200]
    assert b"413" not in connection.received


# --- the body: time ------------------------------------------------------------------------------


async def test_a_stalled_body_is_closed_after_body_timeout_and_the_app_sees_it(
    server: Server, clock: Clock
) -> None:
    """A body that stops coming is cut off body_timeout after its last piece; the app reading
    it sees the client leave, and the client gets no answer."""
    connection = server.connect()
    connection.send(post("/upload", 500) + b"x" * 100)
    await wait_until_async(lambda: server.app.called, what="the app starting")
    await clock.advance(LIMITS.body_timeout - PAST)
    assert not connection.closed
    await clock.advance(2 * PAST)
    assert connection.closed
    assert connection.received == b""
    await wait_until_async(lambda: server.app.left, what="the app seeing the client leave")
    assert server.app.left == ["/upload"]


async def test_a_body_that_keeps_coming_is_not_cut_off(server: Server, clock: Clock) -> None:
    """Each piece of a body starts its stall clock again: a slow but steady body is served."""
    connection = server.connect()
    connection.send(post("/upload", 500))
    for _ in range(5):  # 5 pieces, 2 s apart: longer in all than body_timeout
        await clock.advance(LIMITS.body_timeout - 1)
        connection.send(b"x" * 100)
    assert await connection.answers(1) == [200]
    assert connection.received.endswith(b"500")


async def test_a_body_the_app_has_not_read_yet_is_not_stalled(
    server: Server, clock: Clock, limits: Callable[..., None]
) -> None:
    """While the server stops reading because the app is behind, the client is not to blame:
    the stall clock waits, however long the app takes."""
    limits(max_body=4 * HIGH_WATER_LIMIT)
    server.app.hold = asyncio.Event()
    connection = server.connect()
    connection.send(post("/upload", 2 * HIGH_WATER_LIMIT))
    connection.send(b"x" * (HIGH_WATER_LIMIT + 1))
    assert connection.read_paused  # the server's buffer is full
    await clock.advance(3 * LIMITS.body_timeout)
    assert not connection.closed
    server.app.hold.set()
    await wait_until_async(lambda: not connection.read_paused, what="the server reading again")
    connection.send(b"x" * (HIGH_WATER_LIMIT - 1))
    assert await connection.answers(1) == [200]


# --- connections ---------------------------------------------------------------------------------


async def test_past_max_connections_the_longest_waiting_for_headers_makes_room(
    server: Server, clock: Clock
) -> None:
    """A full worker drops the connection that has waited longest for its headers (503), and
    serves the new one."""
    waiting = []
    for _ in range(LIMITS.max_connections):
        waiting.append(server.connect())
        waiting[-1].send(b"GET / HTTP/1.1\r\n")  # and never the end of the headers
        await clock.advance(0.1)
    fresh = server.connect()
    assert waiting[0].closed
    assert waiting[0].statuses == [503]
    assert not any(connection.closed for connection in waiting[1:])
    fresh.send(get())
    assert await fresh.answers(1) == [200]


async def test_past_max_connections_with_none_waiting_the_new_one_is_closed(
    server: Server,
) -> None:
    """When every open connection is being served, the new one is closed without a word and
    the others are unharmed."""
    server.app.hold = asyncio.Event()
    busy = [server.connect() for _ in range(LIMITS.max_connections)]
    for connection in busy:
        connection.send(get())
    await wait_until_async(lambda: len(server.app.called) == len(busy), what="all in the app")
    refused = server.connect()
    assert refused.closed
    assert refused.received == b""
    server.app.hold.set()
    for connection in busy:
        assert await connection.answers(1) == [200]


async def test_a_closed_connection_frees_its_place(server: Server) -> None:
    """Once a client leaves, a new connection gets its place without dropping anyone."""
    server.app.hold = asyncio.Event()
    busy = [server.connect() for _ in range(LIMITS.max_connections)]
    for connection in busy:
        connection.send(get())
    busy[0].close()  # the client leaves
    await settle()
    fresh = server.connect()
    assert not fresh.closed
    server.app.hold.set()
    fresh.send(get())
    assert await fresh.answers(1) == [200]


# --- configuration -------------------------------------------------------------------------------


def test_configure_sets_the_limits_of_the_protocol_it_returns() -> None:
    """`configure` hands uvicorn the protocol class, with this process's limits on it."""
    limits = Limits(max_headers=7)
    protocol = configure(limits)
    assert protocol is GuardedProtocol
    assert protocol.limits is limits


# --- cost ----------------------------------------------------------------------------------------

# Bytecodes of strangler/serving/protocol.py per GET on a kept-alive connection (three header
# fields): what the limits add to uvicorn's own protocol for every request. 319 before #21's
# hot-path work.
BUDGET = 180


async def test_a_request_on_a_kept_alive_connection_stays_within_its_bytecode_budget(
    server: Server,
) -> None:
    """Enforcing the limits on a plain GET costs at most BUDGET bytecodes of the protocol."""
    connection = server.connect()

    async def request() -> None:
        answered = len(connection.statuses)
        connection.send(get("/", b"Accept: */*", b"User-Agent: test"))
        await connection.answers(answered + 1)

    protocol = str(Path(GuardedProtocol.__init__.__code__.co_filename))
    per_request, split = await bytecodes_per_call(request, under=protocol)
    assert set(connection.statuses) == {200}
    assert per_request <= BUDGET, f"{per_request:.0f} bytecodes a request: {split.most_common()}"
