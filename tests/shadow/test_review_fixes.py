"""What a review of the shadow tap found, kept found: noise, secrets, cancelled shadow calls."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any

from strangler.bridge.bridge import make_bridge
from strangler.comparison.compare import Answer, Difference
from strangler.shadow.record import EndpointRecord, Mismatch
from strangler.shadow.redact import REDACTED, Redactor, SeenRequest
from strangler.types import Environ
from tests.support.asgi import http_scope
from tests.support.waiting import wait_until_async


def test_noise_is_learned_for_any_list_index_and_never_for_the_status() -> None:
    record = EndpointRecord()
    record.learn_noise({"$.items[0].id", "$.items[2].id", "status", "body", "$"})
    assert record.noise == {"$.items[*].id"}
    assert record.is_noise(Difference("$.items[49].id", 1, 2))
    assert not record.is_noise(Difference("status", 200, 503))


def test_learning_noise_takes_back_only_the_mismatches_that_were_only_noise() -> None:
    record = EndpointRecord(compared=2, mismatched=2)
    request = SeenRequest("GET", "/x", "", (), b"")
    answer = Answer(200, (), b"{}")
    for wheres in (["$.at"], ["$.at", "$.price"]):
        diffs = [Difference(w, 1, 2) for w in wheres]
        record.mismatches.append(Mismatch("t", request, answer, answer, diffs, "legacy"))
    record.learn_noise({"$.at"})
    assert (record.mismatched, record.matched) == (1, 1)
    assert [d.where for d in record.mismatches[0].differences] == ["$.price"]


def test_secrets_are_redacted_in_queries_forms_and_whole_body_differences() -> None:
    redactor = Redactor()
    form = (("content-type", "application/x-www-form-urlencoded"),)
    request = SeenRequest("POST", "/login", "token=abc&page=2", form, b"user=a&password=hunter2")
    shown = repr(redactor.request(request)) + repr(redactor.case("c", request))
    assert "abc" not in shown
    assert "hunter2" not in shown
    assert "page=2" in shown
    assert redactor.difference("body", b"token=abc") == REDACTED
    assert redactor.difference("$", {"token": "abc"}) == REDACTED


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
