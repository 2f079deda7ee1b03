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
"""

from __future__ import annotations

import dataclasses
import json
import logging
import queue
import threading
import time
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
        size: int = QUEUE,
        retry_first: float = RETRY_FIRST,
        give_up: float = GIVE_UP,
    ) -> None:
        self.webhook = webhook
        self.dropped = 0  # events the full queue refused, or given up on
        self.delivered = 0
        self.attempts = 0  # posts tried, answered or not
        self._queue: queue.Queue[Event] = queue.Queue(size)
        self._retry_first = retry_first
        self._give_up = give_up
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client = httpx.Client(timeout=TIMEOUT)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="strangler-webhook", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stops after the post under way (not waiting for the rest of the queue)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=TIMEOUT + 1)
            self._thread = None
        self._client.close()

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

    @property
    def _shown(self) -> str:
        return self.webhook.url.split("?")[0]  # a query may hold a token

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                event = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            self._deliver(event)

    def _deliver(self, event: Event) -> None:
        body = self.webhook.body(event)
        headers = {"Content-Type": "application/json", EVENT_HEADER: event.id}
        wait, deadline = self._retry_first, time.monotonic() + self._give_up
        while not self._stop.is_set():
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
                problem = f"{type(exc).__name__}: {exc}"
            if time.monotonic() + wait > deadline:
                self.dropped += 1
                log.error(
                    "webhook %s: %s given up after retries (%s)", self._shown, event.id, problem
                )
                return
            log.warning("webhook %s %s; retrying %s in %.1fs", self._shown, problem, event.id, wait)
            self._stop.wait(wait)
            wait = min(wait * 2, RETRY_MOST)


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
            Sender(webhook, size=size, retry_first=retry_first, give_up=give_up)
            for webhook in webhooks
        ]

    def start(self) -> None:
        for sender in self.senders:
            sender.start()

    def stop(self) -> None:
        for sender in self.senders:
            sender.stop()

    def send(self, event: Event) -> None:
        for sender in self.senders:
            sender.send(event)
