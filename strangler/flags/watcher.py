"""Keeps this worker's flag snapshot fresh, and keeps routing when the store fails.

A daemon thread asks the store for its version every `interval` seconds (one tiny read) and
reloads the table only when the version moved, so a change made by any process reaches every
worker within `interval` plus one read. If the store cannot be opened or read, the worker keeps
the last good snapshot (at a cold start: the empty one, which routes everything to legacy) and
says so in the log and in `health()`, and it keeps retrying. A read that hangs (a SQLite file
locked by another process, a store across a network that does not answer) is a fault too, once
no read has succeeded for `stale_after` seconds: the poll thread may be waiting on it, so
`health()` judges by the time of the last good read, not only by the last error.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from strangler.flags.errors import FlagStoreError
from strangler.flags.model import EMPTY_SNAPSHOT, FlagSnapshot
from strangler.flags.store import FlagStore

log = logging.getLogger("strangler.flags")

# Five reads a second per worker is nothing for SQLite and well inside the 1 s propagation promise.
DEFAULT_INTERVAL = 0.2
# One small write every few seconds per worker, so a flag change can say who will follow it.
REPORT_EVERY = 2.0
# No good read for this long (or three polls, if longer) and the store is at fault: long
# enough that a busy machine's late poll is not one, short enough for a load balancer to see.
STALE_AFTER = 5.0


class FlagWatcher:
    """Holds the current snapshot; `snapshot` is read on every request, without a lock."""

    def __init__(
        self,
        store: FlagStore,
        interval: float = DEFAULT_INTERVAL,
        *,
        stale_after: float | None = None,
    ) -> None:
        self.store = store
        self.interval = interval
        self.stale_after = max(STALE_AFTER, 3 * interval) if stale_after is None else stale_after
        self.snapshot: FlagSnapshot = EMPTY_SNAPSHOT
        self.loaded = False  # whether `snapshot` ever came from the store
        self._error: str | None = None  # of the last read
        self.checked_at: float | None = None
        self._good_read = time.monotonic()  # when a read last succeeded (or the watcher began)
        self._stalled = False  # whether the stall under way was logged
        self.changed_at: float | None = None  # when this worker took its current version
        self._stop = threading.Event()
        # The poll thread and the admin API (after a change) both refresh; one at a time, so an
        # older table read by one can never replace a newer one read by the other.
        self._refreshing = threading.Lock()
        self._thread: threading.Thread | None = None
        self._unlisten: Callable[[], None] | None = None
        # Who this worker is to operators: `flags set` says how many workers read the store.
        self.reader = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._reported_at = 0.0
        self._reported_version: int | None = None
        # What this worker publishes with its heartbeat: kind -> a payload, or None for nothing
        # (called in the poll thread: it must be safe to call while requests are served).
        self.publishers: dict[str, Callable[[], str | None]] = {}
        self.refresh()

    def refresh(self, *, wait: bool = True) -> None:
        """Reloads the snapshot if the store moved on; never raises. With `wait=False`, does
        nothing when another refresh is under way (it will have the news)."""
        if not self._refreshing.acquire(blocking=wait):
            return
        try:
            self._refresh()
            if self._thread is not None and self.snapshot.version != self._reported_version:
                # A change pushed (Redis) or made through this worker's admin API is reported
                # taken at once, not at the next poll: the change waits to say who took it.
                self._note_version()
        finally:
            self._refreshing.release()

    def _refresh(self) -> None:
        try:
            # After a fault, the whole table is read again whatever its version says: a store
            # restored from a copy, or a Redis that lost its last writes, may be back at a
            # version this worker has seen, with other flags.
            stale = not self.loaded or self._error is not None
            if stale or self.store.version() != self.snapshot.version:
                snapshot = self.store.snapshot()
                if snapshot.version != self.snapshot.version:
                    self.changed_at = time.time()
                self.snapshot = snapshot
                self.loaded = True
        except Exception as exc:  # any fault: keep routing on what we have
            if self._error is None:
                log.error(
                    "flag store unreadable (%s); routing by the last good table, version %d%s",
                    exc,
                    self.snapshot.version,
                    "" if self.loaded else " (none yet: everything goes to legacy)",
                )
            self._error = str(exc)
            if not isinstance(exc, FlagStoreError):
                log.exception("unexpected error while reading the flag store")
            return
        if self._error is not None or self._stalled:
            log.warning("flag store readable again at version %d", self.snapshot.version)
            self._error, self._stalled = None, False
        self.checked_at = time.time()
        self._good_read = time.monotonic()

    @property
    def error(self) -> str | None:
        """What is wrong with the store, or None: the last read's failure, or no good read for
        `stale_after` seconds while the poll thread runs (a read that hangs fails no read)."""
        if self._error is not None:
            return self._error
        waited = time.monotonic() - self._good_read
        if self._thread is None or waited < self.stale_after:
            return None
        if not self._stalled:
            self._stalled = True
            log.error(
                "no good read of the flag store for %.0f s (locked, or not answering); routing"
                " by the last good table, version %d",
                waited,
                self.snapshot.version,
            )
        return (
            f"no good read of the flag store for {waited:.0f} s (locked by another process, or"
            " not answering); routing by the last good table"
        )

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._good_read = time.monotonic()  # its first poll has stale_after to read
            self._thread = threading.Thread(target=self._run, name="strangler-flags", daemon=True)
            self._thread.start()
            # A store that pushes its changes (Redis) is heard at once; the poll stays, for
            # a message lost on the way.
            listen = getattr(self.store, "listen", None)
            if callable(listen):
                self._unlisten = listen(self.refresh)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.refresh()
            self._report()

    def _report(self) -> None:
        """Tells the store which version this worker routes by: every REPORT_EVERY seconds
        (with what it publishes), and at once when it takes a new one, so a change can say
        who took it (strangler.flags.service: FlagService.followers)."""
        now = time.monotonic()
        due = now - self._reported_at >= REPORT_EVERY
        version = self.snapshot.version
        if not self.loaded or not (due or version != self._reported_version):
            return
        if due:
            self._reported_at = now
        try:
            self.store.note_reader(self.reader, version)
            self._reported_version = version
            for kind, make in list(self.publishers.items()) if due else ():
                payload = make()
                if payload is not None:
                    self.store.publish(self.reader, kind, payload)
        except Exception as exc:  # a heartbeat is a courtesy: routing goes on without it
            log.debug("could not report to the flag store: %s", exc)

    def _note_version(self) -> None:
        """Tells the store the version this worker routes by now (no publishing: that stays in
        the poll thread)."""
        version = self.snapshot.version
        try:
            self.store.note_reader(self.reader, version)
            self._reported_version = version
        except Exception as exc:  # a courtesy, as `_report` is
            log.debug("could not report to the flag store: %s", exc)

    def stop(self) -> None:
        self._stop.set()
        if self._unlisten is not None:
            self._unlisten()
            self._unlisten = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def close(self) -> None:
        """Stops, and says goodbye: else, for the 10 s a heartbeat counts, every change would
        wait for this worker and then call it "stopped, or stuck?" (#25). A worker killed
        says nothing, and is warned of."""
        reporting = self._thread is not None
        self.stop()
        if reporting:
            try:
                self.store.forget_reader(self.reader)
            except Exception as exc:  # a courtesy, as the heartbeat is
                log.debug("could not leave the flag store's readers: %s", exc)
        self.store.close()

    def health(self) -> dict[str, Any]:
        """What the gateway's health answer says about flags."""
        error = self.error
        return {
            "status": "degraded" if error else "ok",
            "version": self.snapshot.version,
            "loaded": self.loaded,
            "error": error,
            "checked_at": self.checked_at,
            "changed_at": self.changed_at,
        }
