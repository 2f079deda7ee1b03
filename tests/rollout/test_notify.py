"""Webhooks (strangler.rollout.notify): every event posted once, in order, to a real receiver
on 127.0.0.1 while it is slow, failing, or not there at all for a while (#25)."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from strangler.errors import ConfigError
from strangler.rollout import notify
from strangler.rollout.events import Event
from strangler.rollout.notify import Notifier, Sender, Webhook
from tests.support.servers import free_port
from tests.support.waiting import wait_until
from tests.support.webhooks import receiving


def events(count: int) -> list[Event]:
    now = time.time()
    return [
        Event(f"e{i}", "promoted", "GET /work", now + i, "ann", f"step {i}") for i in range(count)
    ]


def test_every_event_arrives_once_in_order_while_the_receiver_is_slow() -> None:
    """A receiver taking 0.1 s an answer gets each event once, in the order sent."""
    with receiving() as receiver:
        receiver.delay = 0.1
        notifier = Notifier([Webhook(f"http://127.0.0.1:{receiver.port}/hook")])
        notifier.start()
        try:
            sent = events(8)
            began = time.monotonic()
            for event in sent:
                notifier.send(event)
            assert time.monotonic() - began < 0.05  # queued, not posted, by send
            wait_until(lambda: len(receiver.ids) == 8, what="8 events received")
        finally:
            notifier.stop()
    assert receiver.ids == [e.id for e in sent]
    assert [b["id"] for b in receiver.bodies] == receiver.ids
    assert receiver.bodies[0]["kind"] == "promoted"
    assert receiver.bodies[0]["endpoint"] == "GET /work"


def test_events_sent_while_the_receiver_is_down_arrive_once_it_is_back() -> None:
    """Events posted to a port nobody listens on are retried until a receiver starts there,
    then arrive once each, in order."""
    port = free_port()
    sender = Sender(Webhook(f"http://127.0.0.1:{port}/hook"), retry_first=0.02)
    sender.start()
    try:
        sent = events(5)
        for event in sent:
            sender.send(event)
        wait_until(lambda: sender.attempts >= 3, what="three refused tries")
        assert sender.delivered == 0
        with receiving(port) as receiver:
            wait_until(lambda: len(receiver.ids) == 5, what="5 events received")
    finally:
        sender.stop()
    assert receiver.ids == [e.id for e in sent]
    assert sender.dropped == 0


def test_a_failing_receiver_gets_each_event_once_after_it_recovers() -> None:
    """A receiver answering 503 is retried; once it answers 2xx, each event is kept once."""
    with receiving() as receiver:
        receiver.failing = True
        sender = Sender(Webhook(f"http://127.0.0.1:{receiver.port}/"), retry_first=0.02)
        sender.start()
        try:
            sent = events(3)
            for event in sent:
                sender.send(event)
            wait_until(lambda: receiver.posts >= 3, what="three refused posts")
            receiver.failing = False
            wait_until(lambda: len(receiver.ids) == 3, what="3 events received")
        finally:
            sender.stop()
    assert receiver.ids == [e.id for e in sent]


def test_a_full_queue_drops_new_events_without_blocking() -> None:
    """With its queue full, `send` returns at once and counts the event dropped."""
    sender = Sender(Webhook("http://127.0.0.1:9/never"), size=2)  # not started: nothing drains
    began = time.monotonic()
    for event in events(5):
        sender.send(event)
    assert time.monotonic() - began < 0.05
    assert (sender.pending, sender.dropped) == (2, 3)
    sender.stop()


def test_a_slack_webhook_gets_a_text_body() -> None:
    """`slack:URL` posts `{"text": ...}` with the event's line, and its id in the header."""
    with receiving() as receiver:
        notifier = Notifier([Webhook.parse(f"slack:http://127.0.0.1:{receiver.port}/s")])
        notifier.start()
        try:
            notifier.send(events(1)[0])
            wait_until(lambda: receiver.bodies, what="the post")
        finally:
            notifier.stop()
    assert receiver.bodies == [{"text": "[strangler] step 0"}]
    assert receiver.ids == ["e0"]


@pytest.mark.parametrize("text", ["ftp://x", "slack:", "teams:https://x", "hooks.example.com"])
def test_a_webhook_that_is_not_a_url_is_a_config_error(text: str) -> None:
    """A webhook setting that is neither a URL nor slack:URL is refused, saying what to give."""
    with pytest.raises(ConfigError, match="give an http\\(s\\) URL"):
        Webhook.parse(text)


def test_the_logs_name_a_webhook_by_its_host_never_its_path_or_query(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A refused post is logged with the webhook's place and host: Slack's secret is its path."""
    with receiving() as receiver:
        receiver.failing = True
        url = f"http://127.0.0.1:{receiver.port}/services/T/B/PATHSECRET?token=QUERYSECRET"
        sender = Sender(Webhook(url), retry_first=0.02)
        sender.start()
        try:
            sender.send(events(1)[0])
            wait_until(lambda: receiver.posts >= 2, what="two refused posts")
        finally:
            sender.stop(drain=0)
    logged = caplog.text
    assert f"webhook 0:http://127.0.0.1:{receiver.port} answered 503" in logged
    assert "SECRET" not in logged


def test_an_error_is_logged_by_its_type_not_its_text_which_may_hold_the_url(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A transport error's message (which httpx may fill with the URL) stays out of the logs."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}", request=request)

    webhook = Webhook("https://hooks.example.com/services/T/B/PATHSECRET")
    sender = Sender(webhook, index=2, retry_first=0.02, transport=httpx.MockTransport(refuse))
    sender.start()
    try:
        sender.send(events(1)[0])
        wait_until(lambda: sender.attempts >= 2, what="two failed posts")
    finally:
        sender.stop(drain=0)
    assert "webhook 2:https://hooks.example.com ConnectError; retrying e0" in caplog.text
    assert "SECRET" not in caplog.text


def test_stopping_posts_the_events_still_queued() -> None:
    """`stop` gives the queue its drain time: every event queued before it arrives, in order."""
    with receiving() as receiver:
        receiver.delay = 0.05
        sender = Sender(Webhook(f"http://127.0.0.1:{receiver.port}/hook"))
        sender.start()
        sent = events(5)
        for event in sent:
            sender.send(event)
        sender.stop()
    assert receiver.ids == [e.id for e in sent]
    assert (sender.delivered, sender.dropped) == (5, 0)


def test_stopping_ends_at_its_deadline_and_counts_what_was_not_posted() -> None:
    """With no receiver, `stop` returns once its drain time is spent, the events counted dropped."""
    sender = Sender(Webhook(f"http://127.0.0.1:{free_port()}/hook"), retry_first=0.02)
    sender.start()
    for event in events(3):
        sender.send(event)
    wait_until(lambda: sender.attempts >= 2, what="two refused tries")
    began = time.monotonic()
    sender.stop(drain=0.3)
    assert time.monotonic() - began < 3
    assert (sender.delivered, sender.dropped, sender.pending) == (0, 3, 0)


class Held(httpx.MockTransport):
    """A transport whose posts wait until released, and that notes a close during a post."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.posting = False
        self.closed_while_posting: bool | None = None
        super().__init__(self.answer)

    def answer(self, request: httpx.Request) -> httpx.Response:
        self.posting = True
        self.release.wait(10)
        self.posting = False
        return httpx.Response(204)

    def close(self) -> None:
        self.closed_while_posting = self.posting


def test_the_client_is_closed_only_once_the_post_under_way_has_ended(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A post slower than stop's wait keeps its client: it is closed when the post ends."""
    monkeypatch.setattr(notify, "TIMEOUT", 0.05)
    transport = Held()
    sender = Sender(Webhook("https://hooks.example.com/x"), transport=transport)
    sender.start()
    sender.send(events(1)[0])
    wait_until(lambda: transport.posting, what="the post under way")
    sender.stop(drain=0)  # returns before the post ends
    assert transport.closed_while_posting is None
    transport.release.set()
    wait_until(lambda: transport.closed_while_posting is not None, what="the client closed")
    assert transport.closed_while_posting is False
    assert sender.delivered == 1
