"""One request's body read once and replayed, an answer captured as it is sent
(strangler.shadow.exchange): plain ASGI messages, no server."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from strangler.comparison.compare import Answer
from strangler.shadow.exchange import Capture, Unreplayable, call, read_body, replay
from strangler.types import Message, Receive, Scope, Send
from tests.support.asgi import http_scope


def messages(*items: Message) -> tuple[Receive, list[Message]]:
    """A `receive` giving `items` in turn, and the list of those it gave."""
    given: list[Message] = []
    waiting = list(items)

    async def receive() -> Message:
        given.append(waiting.pop(0))
        return given[-1]

    return receive, given


def body(chunk: bytes, more: bool = False) -> Message:
    return {"type": "http.request", "body": chunk, "more_body": more}


async def test_a_body_within_the_limit_is_read_whole() -> None:
    """A declared length within the limit: the body is read across its messages, whole."""
    receive, _ = messages(body(b"ab", more=True), body(b"c"))
    scope = http_scope(method="POST", headers=[(b"content-length", b"3")])
    assert await read_body(scope, receive, limit=3) == b"abc"


async def test_a_client_gone_while_its_body_is_read_gives_no_body() -> None:
    """A disconnect before the body's end: None, never a short body."""
    receive, _ = messages(body(b"ab", more=True), {"type": "http.disconnect"})
    scope = http_scope(method="POST", headers=[(b"content-length", b"3")])
    assert await read_body(scope, receive, limit=3) is None


@pytest.mark.parametrize(
    ("header", "why"),
    [
        ((b"content-length", b"4"), "a body of 4 bytes"),
        ((b"content-length", b"x"), "a body of 4 bytes"),
        ((b"transfer-encoding", b"chunked"), "a chunked body"),
    ],
    ids=["over-the-limit", "length-not-a-number", "chunked"],
)
async def test_a_body_too_big_or_of_unknown_length_is_unreplayable_and_left_unread(
    header: tuple[bytes, bytes], why: str
) -> None:
    """Over the limit, a length that is no number, or chunked: Unreplayable, nothing read."""
    receive, given = messages(body(b"abcd"))
    with pytest.raises(Unreplayable, match=why):
        await read_body(http_scope(method="POST", headers=[header]), receive, limit=3)
    assert given == []


async def test_replay_gives_the_body_once_then_the_client_s_own_messages() -> None:
    """The body comes in one message; the next `receive` is the client's (its disconnect)."""
    client, _ = messages({"type": "http.disconnect"})
    receive = replay(b"abc", client)
    assert await receive() == body(b"abc")
    assert await receive() == {"type": "http.disconnect"}


async def test_replay_with_no_client_waits_after_the_body_until_cancelled() -> None:
    """For a shadow call nobody waits on, the `receive` after the body never answers."""
    receive = replay(b"abc")
    assert await receive() == body(b"abc")
    waiting = asyncio.ensure_future(receive())
    for _ in range(20):  # the loop runs; nothing can wake it
        await asyncio.sleep(0)
    assert not waiting.done()
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting


ANSWER: list[Message] = [
    {"type": "http.response.start", "status": 201, "headers": [(b"content-type", b"text/plain")]},
    {"type": "http.response.body", "body": b"hel", "more_body": True},
    {"type": "http.response.body", "body": b"lo"},
]


async def test_a_capture_passes_every_message_on_and_keeps_the_answer() -> None:
    """The client gets each message unchanged; the capture holds status, headers and body."""
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    capture = Capture(send, limit=5)
    for message in ANSWER:
        await capture.send(message)
    assert sent == ANSWER
    assert capture.answer() == Answer(201, (("content-type", "text/plain"),), b"hello")


async def test_a_capture_past_its_limit_keeps_no_body_but_passes_it_all_on() -> None:
    """Past `limit` body bytes the answer is marked too big and its body dropped; the client
    still gets every byte."""
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    capture = Capture(send, limit=4)
    for message in ANSWER:
        await capture.send(message)
    assert sent == ANSWER
    assert (capture.too_big, capture.size, capture.answer().body) == (True, 5, b"")


async def test_an_answer_that_never_ends_is_broken() -> None:
    """No last body message (the app stopped mid-stream): the captured answer is broken."""
    capture = Capture(None, limit=5)
    for message in ANSWER[:2]:
        await capture.send(message)
    assert capture.answer() == Answer(201, (("content-type", "text/plain"),), b"hel", broken=True)


def app_raising(after_answering: bool) -> Any:
    """An ASGI app that echoes the body it read, and raises after (or instead of) answering."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if after_answering:
            read = await receive()
            await send({"type": "http.response.start", "status": 500, "headers": []})
            await send({"type": "http.response.body", "body": read["body"]})
        raise ValueError("broke")

    return app


async def test_call_keeps_the_answer_and_names_an_exception_raised_after_it() -> None:
    """An app raising after its answer (as Starlette does after its 500): the answer stands,
    with the exception named in it."""
    capture = await call(app_raising(after_answering=True), http_scope(), b"sent", limit=10)
    assert capture.answer() == Answer(500, (), b"sent", raised="ValueError: broke")


async def test_call_raises_what_the_app_raised_before_answering() -> None:
    """An app raising before it answered anything: the exception is the caller's."""
    with pytest.raises(ValueError, match="broke"):
        await call(app_raising(after_answering=False), http_scope(), b"", limit=10)
