"""Webhooks: every event (strangler.rollout.events) posted to each URL the settings list, from
background threads, never from the request path.

    webhooks = ["https://ops.example.com/strangler", "slack:https://hooks.slack.com/services/T/B/X"]

A URL as it is gets the generic JSON body (`Event.to_dict`: id, kind, endpoint, at, actor,
text, detail); one written `slack:URL` gets a Slack-compatible body, `{"text": ...}`. Both carry
the event's id in the `X-Strangler-Event` header, for the receiver to drop one told twice.

Each webhook has a thread and a queue of its own, so a slow or absent receiver delays only its
own events, in order: an event is retried with backoff (RETRY_FIRST doubling to RETRY_MOST)
until the receiver answers 2xx, for up to GIVE_UP seconds, before the next is sent. An answer
that retrying cannot change (a 4xx other than 408 and 429) drops the event, logged. The queue
is bounded (QUEUE events): when a receiver has been away that long, new events are dropped,
logged and counted, rather than the gateway's memory growing.

Stopping gives what is queued up to DRAIN seconds to be posted; what is left then is logged and
counted as dropped. The events' cursor (strangler.rollout.clerk) moves on when an event is
queued, so an event queued when a worker is killed (or left after the drain) is never told:
delivery is at most once across restarts, and at least once (the id names repeats) within one.

A webhook is named in the logs by its place in the settings and its host only
(`webhook 1:https://hooks.slack.com`): its path or query may hold its secret (Slack's does).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import queue
import threading
import time
import urllib.parse
from collections.abc import Sequence

import httpx

from strangler.errors import ConfigError
from strangler.rollout.events import Event

log = logging.getLogger("strangler.notify")

QUEUE = 1000  # events waiting per webhook; a receiver away longer loses the newest
TIMEOUT = 5.0  # seconds a receiver has to answer one post
RETRY_FIRST = 0.5  # seconds before the first retry, doubling each time...
RETRY_MOST = 30.0  # ...up to this
GIVE_UP = 3600.0  # seconds an event is retried before it is dropped
DRAIN = 5.0  # seconds stopping gives the queued events to be posted
STYLES = ("json", "slack")
EVENT_HEADER = "X-Strangler-Event"


@dataclasses.dataclass(frozen=True)
class Webhook:
    url: str
    style: str = "json"  # json or slack

    @classmethod
    def parse(cls, text: str) -> Webhook:
        """`https://...` (JSON) or `slack:https://...`; ConfigError for anything else."""
        style, _, rest = text.partition(":")
        if style in STYLES and rest.startswith(("http://", "https://")):
            return cls(rest, style)
        if text.startswith(("http://", "https://")):
            return cls(text)
        raise ConfigError(
            f"webhook {text!r}: give an http(s) URL (a JSON body), or slack:URL (a Slack body)"
        )

    def body(self, event: Event) -> bytes:
        if self.style == "slack":
            return json.dumps({"text": f"[strangler] {event.text}"}).encode()
        return json.dumps(event.to_dict()).encode()


class Sender:
    """Posts events to one webhook, in order, from a thread of its own (see the module)."""

    def __init__(
        self,
        webhook: Webhook,
        *,
        index: int = 0,
        size: int = QUEUE,
        retry_first: float = RETRY_FIRST,
        give_up: float = GIVE_UP,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.webhook = webhook
        self.dropped = 0  # events the full queue refused, given up on, or left at stop
        self.delivered = 0
        self.attempts = 0  # posts tried, answered or not
        self._queue: queue.Queue[Event] = queue.Queue(size)
        self._retry_first = retry_first
        self._give_up = give_up
        self._closing = threading.Event()  # stop() was called: drain, then end
        self._deadline = math.inf  # monotonic time past which no post is begun
        self._thread: threading.Thread | None = None
        # The thread's: it closes it as it ends, never stop() while a post may still use it.
        self._client = httpx.Client(timeout=TIMEOUT, transport=transport)
        self._shown = shown(webhook.url, index)

    def start(self) -> None:
        if self._thread is None and not self._closing.is_set():
            self._thread = threading.Thread(target=self._run, name="strangler-webhook", daemon=True)
            self._thread.start()

    def stop(self, drain: float = DRAIN) -> None:
        """Posts what is queued for up to `drain` seconds, then ends (see the module)."""
        self.close(time.monotonic() + drain)
        self.join()

    def close(self, deadline: float) -> None:
        """Asks the thread to post what is queued until `deadline` (monotonic), then end."""
        self._deadline = deadline
        self._closing.set()

    def join(self) -> None:
        """Waits for the thread to end (the post under way may take TIMEOUT past the deadline)."""
        thread = self._thread
        if thread is None:
            self._client.close()
            self._log_left()
            return
        thread.join(timeout=max(0.0, self._deadline - time.monotonic()) + TIMEOUT + 1)
        if thread.is_alive():  # a post slower than its timeout: the thread closes the client
            log.warning("webhook %s: still posting at stop; left to end by itself", self._shown)
        else:
            self._thread = None

    def send(self, event: Event) -> None:
        """Queues `event`; never blocks (a full queue drops it, logged)."""
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.dropped += 1
            log.error("webhook %s: %d events waiting; %s dropped", self._shown, QUEUE, event.id)

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def _late(self) -> bool:
        return self._closing.is_set() and time.monotonic() >= self._deadline

    def _run(self) -> None:
        try:
            while not self._late() and not (self._closing.is_set() and self._queue.empty()):
                try:
                    event = self._queue.get(timeout=0.2)
                except queue.Empty:
                    continue
                self._deliver(event)
        finally:
            self._client.close()  # here, never while a post may still use it
            self._log_left()

    def _log_left(self) -> None:
        left = 0
        with contextlib.suppress(queue.Empty):
            while True:  # emptied, so that a second stop counts none twice
                self._queue.get_nowait()
                left += 1
        if left:
            self.dropped += left
            log.error("webhook %s: stopped with %d events not posted", self._shown, left)

    def _deliver(self, event: Event) -> None:
        body = self.webhook.body(event)
        headers = {"Content-Type": "application/json", EVENT_HEADER: event.id}
        wait, deadline = self._retry_first, time.monotonic() + self._give_up
        while not self._late():
            self.attempts += 1
            try:
                response = self._client.post(self.webhook.url, content=body, headers=headers)
                if response.is_success:
                    self.delivered += 1
                    return
                if 400 <= response.status_code < 500 and response.status_code not in (408, 429):
                    self.dropped += 1
                    log.error(
                        "webhook %s refused %s (%d): dropped",
                        self._shown,
                        event.id,
                        response.status_code,
                    )
                    return
                problem = f"answered {response.status_code}"
            except httpx.HTTPError as exc:
                problem = type(exc).__name__  # its text may carry the URL, and so the secret
            if time.monotonic() + wait > deadline:
                self.dropped += 1
                log.error(
                    "webhook %s: %s given up after retries (%s)", self._shown, event.id, problem
                )
                return
            log.warning("webhook %s %s; retrying %s in %.1fs", self._shown, problem, event.id, wait)
            self._pause(wait)
            wait = min(wait * 2, RETRY_MOST)
        self.dropped += 1
        log.error("webhook %s: stopped before %s was posted", self._shown, event.id)

    def _pause(self, seconds: float) -> None:
        """Waits before a retry: woken by stop, and then never past its deadline."""
        if self._closing.wait(seconds):
            time.sleep(max(0.0, min(seconds, self._deadline - time.monotonic())))


def shown(url: str, index: int) -> str:
    """A webhook as the logs name it: its place in the settings and its host, never its path,
    query or user (any may hold the secret: Slack's is the path)."""
    parsed = urllib.parse.urlsplit(url)
    try:
        port = f":{parsed.port}" if parsed.port else ""
    except ValueError:  # not a number: the post will say so, by the error's name
        port = ""
    return f"{index}:{parsed.scheme}://{parsed.hostname or ''}{port}"


class Notifier:
    """Every webhook's sender; `send` queues an event for each."""

    def __init__(
        self,
        webhooks: Sequence[Webhook],
        *,
        size: int = QUEUE,
        retry_first: float = RETRY_FIRST,
        give_up: float = GIVE_UP,
    ) -> None:
        self.senders = [
            Sender(webhook, index=index, size=size, retry_first=retry_first, give_up=give_up)
            for index, webhook in enumerate(webhooks)
        ]

    def start(self) -> None:
        for sender in self.senders:
            sender.start()

    def stop(self, drain: float = DRAIN) -> None:
        """Gives every webhook's queue `drain` seconds to be posted, together, then ends."""
        deadline = time.monotonic() + drain
        for sender in self.senders:
            sender.close(deadline)
        for sender in self.senders:
            sender.join()

    def send(self, event: Event) -> None:
        for sender in self.senders:
            sender.send(event)
