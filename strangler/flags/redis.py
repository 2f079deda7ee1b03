"""The Redis flag store: one table for a fleet of gateways on many machines (`flags =
"redis://host:6379/0"`; a password and TLS go in the URL: `rediss://:secret@host/0`).

    {prefix}store_id     the store's identity, set when it is created (`strangler flags init`)
    {prefix}version      the table's version: one INCR per change
    {prefix}flags        hash: endpoint -> flag (JSON)
    {prefix}audit        list: every change (JSON), oldest first
    {prefix}readers      hash: worker -> {version, seen_at}
    {prefix}reports      hash: kind + worker -> {at, payload}
    {prefix}rollouts     hash: endpoint -> [revision, document]
    {prefix}inventory    the endpoints the gateway last published (JSON: strangler.flags.inventory)
    {prefix}findings     hash: endpoint -> its shadow findings (JSON: strangler.shadow.findings)
    {prefix}lease:NAME   the holder of a lease, expiring by itself
    {prefix}changes      the channel each change's version is published on

A change, its version and its audit entry are written by one Lua script: atomic, so concurrent
writers from any number of processes lose nothing. Each change is also published; a worker that
listens (`listen`) refreshes at once, and its poll catches what a lost message missed. Redis
faults are FlagStoreErrors: the watcher keeps the last good table and says `degraded`.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import redis

from strangler.flags.errors import FlagStoreError, FlagStoreUnreachable
from strangler.flags.model import (
    AuditEntry,
    Flag,
    FlagSnapshot,
    bad_row,
    checked_change,
    stored_flag,
    utc_now,
)

log = logging.getLogger("strangler.flags")

PREFIX = "strangler:"
TIMEOUT = 1.0  # seconds a command or a connection may take before it is a fault
KEEP_REPORTS = 3600.0  # seconds: reports and readers older than this are dropped
# Tries of an update whose key another writer changed meanwhile (WATCH): workers fold their
# findings every few seconds, so a few tries always do.
FINDINGS_TRIES = 20

# KEYS: version, flags, audit, changes. ARGV: endpoint, flag JSON, at, actor, reason.
_SET = """
local before = redis.call('HGET', KEYS[2], ARGV[1])
local version = redis.call('INCR', KEYS[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local entry = cjson.encode({at = ARGV[3], actor = ARGV[4], endpoint = ARGV[1],
    before = before or cjson.null, after = ARGV[2], reason = ARGV[5], version = version})
local id = redis.call('RPUSH', KEYS[3], entry)
redis.call('PUBLISH', KEYS[4], version)
return {version, id, before or false}
"""
# KEYS: lease. ARGV: holder, milliseconds.
_LEASE = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""
# KEYS: rollouts. ARGV: endpoint, revision expected, document.
_SAVE_ROLLOUT = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
local revision = 0
if current then revision = cjson.decode(current)[1] end
if revision ~= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode({revision + 1, ARGV[3]}))
return 1
"""


class RedisFlagStore:
    """A flag store in Redis; safe across threads, processes and machines."""

    def __init__(self, url: str, *, create: bool = False, prefix: str = PREFIX) -> None:
        self.url = url
        self._create = create
        self._prefix = prefix
        try:
            self._redis = redis.Redis.from_url(
                url,
                socket_timeout=TIMEOUT,
                socket_connect_timeout=TIMEOUT,
                decode_responses=True,
                health_check_interval=5,  # an idle connection (the listener's) is PINGed
            )
        except ValueError:  # its message may quote the password
            raise FlagStoreError(
                f"{redacted(url)} is not a Redis URL: redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]"
            ) from None
        self._set = self._redis.register_script(_SET)
        self._lease = self._redis.register_script(_LEASE)
        self._save_rollout = self._redis.register_script(_SAVE_ROLLOUT)
        self.store_id: str | None = None
        self._listeners: list[_Listener] = []

    def _key(self, name: str) -> str:
        return self._prefix + name

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        where = redacted(self.url)
        try:
            yield
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            if isinstance(exc, redis.AuthenticationError):
                raise FlagStoreError(f"cannot {doing} the flag store {where}: {exc}") from exc
            raise FlagStoreUnreachable(f"cannot {doing} the flag store {where}: {exc}") from exc
        except redis.RedisError as exc:
            raise FlagStoreError(f"cannot {doing} the flag store {where}: {exc}") from exc
        except (ValueError, KeyError, TypeError) as exc:  # data that is not ours
            raise FlagStoreError(
                f"the flag store {where} holds data it cannot read: {exc}"
            ) from exc

    def _identify(self, found: str | None = None, *, read: bool = True) -> None:
        """Binds this object to the store's identity on first use; creates it if allowed. A
        store that was never created, or replaced by another (flushed), is a fault. `found`:
        the id, when the caller read it already (in the same round trip as its data)."""
        if read:
            found = _text(self._redis.get(self._key("store_id")))
        if found is None and self._create:
            self._redis.set(self._key("store_id"), f"redis-{time.time_ns():x}", nx=True)
            self._redis.setnx(self._key("version"), 0)
            found = _text(self._redis.get(self._key("store_id")))
        if found is None and self.store_id is not None:
            # Threads share this object: the None may have been read before another of them
            # created the store and bound it. Only a second read of None is a flushed store.
            found = _text(self._redis.get(self._key("store_id")))
            if found is None:
                raise FlagStoreError(
                    f"the flag store at {redacted(self.url)} was deleted (flushed?); routing by"
                    " the last good table. Restore it (`strangler flags import` of an export) and"
                    " restart"
                )
        if found is None:
            raise FlagStoreError(
                f"no flag store at {redacted(self.url)}: create it with `strangler flags init` (or"
                " `strangler serve`, which creates it on its first start)"
            )
        if self.store_id is None:
            self.store_id = str(found)
            self._create = False
        elif found != self.store_id:
            raise FlagStoreError(
                f"the flag store at {redacted(self.url)} was replaced by another (id {found}, not"
                f" {self.store_id}); routing by the last good table"
            )

    def version(self) -> int:
        with self._errors("read"):  # one round trip: the identity and the version
            found, version = self._redis.mget(self._key("store_id"), self._key("version"))
            self._identify(_text(found), read=False)
            return int(version or 0)

    def snapshot(self) -> FlagSnapshot:
        with self._errors("read"):
            self._identify()
            with self._redis.pipeline(transaction=True) as pipe:  # version and rows agree
                pipe.get(self._key("version"))
                pipe.hgetall(self._key("flags"))
                version, rows = pipe.execute()
        return FlagSnapshot.of(
            int(version or 0),
            {str(key): self._read(str(key), value) for key, value in rows.items()},
        )

    def _read(self, endpoint: str, value: str) -> Flag:
        """The flag of one field, if the admin API would have written it (model.stored_flag)."""
        where = redacted(self.url)
        try:
            flag = Flag.from_dict(json.loads(value))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:  # not a flag's JSON
            raise bad_row(where, endpoint, str(exc)) from None
        return stored_flag(where, endpoint, flag)

    def set(self, endpoint: str, flag: Flag, *, actor: str, reason: str) -> AuditEntry:
        checked_change(flag, actor, reason)
        at = utc_now()
        keys = [self._key(k) for k in ("version", "flags", "audit", "changes")]
        with self._errors("write"):
            self._identify()
            version, entry_id, before = self._set(
                keys=keys, args=[endpoint, json.dumps(flag.to_dict()), at, actor, reason]
            )
        previous = Flag.from_dict(json.loads(before)) if before else None
        return AuditEntry(int(entry_id), at, actor, endpoint, previous, flag, reason, int(version))

    def history(self, endpoint: str | None = None, limit: int = 50) -> list[AuditEntry]:
        entries: list[AuditEntry] = []
        with self._errors("read"):
            self._identify()
            end = self._redis.llen(self._key("audit"))  # entry ids are 1..end
            page = min(max(limit, 100), 10_000)
            while end > 0 and len(entries) < limit:  # newest first, a page at a time
                start = max(0, end - page)
                rows = self._redis.lrange(self._key("audit"), start, end - 1)
                for offset in range(len(rows) - 1, -1, -1):
                    data = json.loads(rows[offset])
                    if endpoint is None or data["endpoint"] == endpoint:
                        entries.append(_entry(start + offset + 1, data))
                        if len(entries) >= limit:
                            break
                end = start
                page = min(page * 2, 10_000)
        return entries

    def note_reader(self, reader: str, version: int) -> None:
        now = time.time()
        with self._errors("write"):
            self._identify()  # never a heartbeat into a store that replaced ours
            self._redis.hset(self._key("readers"), reader, json.dumps([version, now]))
            self._forget_old("readers", lambda value: json.loads(value)[1], now)

    def readers(self, within: float) -> dict[str, int]:
        since = time.time() - within
        with self._errors("read"):
            self._identify()
            rows = self._redis.hgetall(self._key("readers"))
        found = {}
        for reader, value in rows.items():
            version, seen_at = json.loads(value)
            if seen_at >= since:
                found[str(reader)] = int(version)
        return found

    def forget_reader(self, reader: str) -> None:
        with self._errors("write"):
            self._identify()  # never into a store that replaced ours
            self._redis.hdel(self._key("readers"), reader)

    def publish(self, worker: str, kind: str, payload: str) -> None:
        now = time.time()
        with self._errors("write"):
            self._identify()
            value = json.dumps([now, payload])
            self._redis.hset(self._key("reports"), f"{kind}\n{worker}", value)
            self._forget_old("reports", lambda text: json.loads(text)[0], now)

    def published(self, kind: str, within: float) -> dict[str, str]:
        since = time.time() - within
        with self._errors("read"):
            self._identify()
            rows = self._redis.hgetall(self._key("reports"))
        found = {}
        for field, value in rows.items():
            of, _, worker = str(field).partition("\n")
            at, payload = json.loads(value)
            if of == kind and at >= since:
                found[worker] = str(payload)
        return found

    def _forget_old(self, name: str, stamp: Callable[[str], float], now: float) -> None:
        """Now and then (one write in a hundred), drops the entries of a hash not heard from in
        an hour: workers come and go."""
        if time.monotonic_ns() % 100:
            return
        rows = self._redis.hgetall(self._key(name))
        old = [f for f, value in rows.items() if stamp(str(value)) < now - KEEP_REPORTS]
        if old:
            self._redis.hdel(self._key(name), *old)

    def lease(self, name: str, holder: str, seconds: float) -> bool:
        with self._errors("write"):
            self._identify()
            taken = self._lease(
                keys=[self._key(f"lease:{name}")], args=[holder, int(seconds * 1000)]
            )
        return bool(taken)

    def rollouts(self) -> dict[str, tuple[int, str]]:
        with self._errors("read"):
            self._identify()
            rows = self._redis.hgetall(self._key("rollouts"))
        found = {}
        for endpoint, value in rows.items():
            revision, doc = json.loads(value)
            found[str(endpoint)] = (int(revision), str(doc))
        return found

    def save_rollout(self, endpoint: str, doc: str, revision: int) -> bool:
        with self._errors("write"):
            self._identify()
            saved = self._save_rollout(keys=[self._key("rollouts")], args=[endpoint, revision, doc])
        return bool(saved)

    def add_schedule(self, doc: str) -> int:
        with self._errors("write"):
            self._identify()
            schedule_id = int(self._redis.incr(self._key("schedule_ids")))
            self._redis.hset(self._key("schedules"), str(schedule_id), doc)
        return schedule_id

    def schedules(self) -> dict[int, str]:
        with self._errors("read"):
            self._identify()
            rows = self._redis.hgetall(self._key("schedules"))
        return {int(key): str(doc) for key, doc in sorted(rows.items(), key=lambda r: int(r[0]))}

    def drop_schedule(self, schedule_id: int) -> bool:
        with self._errors("write"):
            self._identify()
            return bool(self._redis.hdel(self._key("schedules"), str(schedule_id)))

    def inventory(self) -> str | None:
        with self._errors("read"):
            self._identify()
            return _text(self._redis.get(self._key("inventory")))

    def save_inventory(self, doc: str) -> None:
        with self._errors("write"):
            self._identify()
            self._redis.set(self._key("inventory"), doc)

    def findings(self) -> dict[str, str]:
        with self._errors("read"):
            self._identify()
            rows = self._redis.hgetall(self._key("findings"))
        return {str(endpoint): str(doc) for endpoint, doc in rows.items()}

    def update_findings(
        self, endpoint: str, change: Callable[[str | None], str | None]
    ) -> str | None:
        key = self._key("findings")
        with self._errors("write"):
            self._identify()
            for _ in range(FINDINGS_TRIES):
                with self._redis.pipeline(transaction=True) as pipe:
                    try:  # optimistic: the write fails if another writer changed the hash
                        pipe.watch(key)  # type: ignore[no-untyped-call]
                        new = change(_text(pipe.hget(key, endpoint)))
                        pipe.multi()
                        if new is None:
                            pipe.hdel(key, endpoint)
                        else:
                            pipe.hset(key, endpoint, new)
                        pipe.execute()
                        return new
                    except redis.WatchError:
                        continue
        raise FlagStoreError(
            f"cannot write the shadow findings of {endpoint} in {redacted(self.url)}: other"
            f" writers changed them {FINDINGS_TRIES} times in a row; the next fold tries again"
        )

    def load(self, version: int, flags: dict[str, Flag], audit: list[AuditEntry]) -> None:
        for entry in audit:
            checked_change(entry.after, entry.actor, entry.reason)
        for flag in flags.values():
            flag.checked()
        if [entry.id for entry in audit] != list(range(1, len(audit) + 1)):
            raise FlagStoreError(
                "the audit entries to load are not numbered 1, 2, 3...: a Redis store numbers"
                " them by their place"
            )
        entries = [
            json.dumps(
                {
                    "at": e.at,
                    "actor": e.actor,
                    "endpoint": e.endpoint,
                    "before": json.dumps(e.before.to_dict()) if e.before else None,
                    "after": json.dumps(e.after.to_dict()),
                    "reason": e.reason,
                    "version": e.version,
                }
            )
            for e in audit
        ]
        with self._errors("write"):
            self._identify()
            with self._redis.pipeline(transaction=True) as pipe:
                pipe.watch(self._key("version"), self._key("audit"))  # type: ignore[no-untyped-call]
                if int(pipe.get(self._key("version")) or 0) or pipe.llen(self._key("audit")):
                    raise FlagStoreError("the store is not empty: nothing was loaded")
                pipe.multi()
                pipe.set(self._key("version"), version)
                if flags:
                    rows: dict[Any, Any] = {k: json.dumps(f.to_dict()) for k, f in flags.items()}
                    pipe.hset(self._key("flags"), mapping=rows)
                if entries:
                    pipe.rpush(self._key("audit"), *entries)
                pipe.publish(self._key("changes"), version)
                pipe.execute()

    def listen(self, changed: Callable[[], None]) -> Callable[[], None]:
        """Calls `changed` (in a thread of its own) whenever a change is published, and once
        after every reconnection (changes made meanwhile were not heard); returns a stop."""
        listener = _Listener(self._redis, self._key("changes"), changed)
        self._listeners.append(listener)
        return listener.stop

    def close(self) -> None:
        for listener in self._listeners:
            listener.stop()
        for listener in self._listeners:
            listener.join()
        self._redis.close()


class _Listener:
    """Subscribes to the change channel; reconnects with backoff (0.1 s doubling to 5 s)."""

    def __init__(self, client: redis.Redis, channel: str, changed: Callable[[], None]) -> None:
        self._client = client
        self._channel = channel
        self._changed = changed
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="strangler-flags-push", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        delay = 0.1
        while not self._stopped.is_set():
            try:
                pubsub = self._client.pubsub(  # type: ignore[no-untyped-call]
                    ignore_subscribe_messages=True
                )
                pubsub.subscribe(self._channel)
                self._changed()  # caught up on whatever was missed while away
                delay = 0.1
                while not self._stopped.is_set():
                    message = pubsub.get_message(timeout=0.5)
                    if message is not None:
                        self._changed()
                pubsub.close()
            except (redis.RedisError, OSError, ValueError) as exc:  # ValueError: a closed socket
                if self._stopped.is_set():
                    return
                log.debug("flag change channel lost (%s); again in %.1f s", exc, delay)
                self._stopped.wait(delay)
                delay = min(delay * 2, 5.0)
            except Exception:  # the callback's own fault: keep listening
                log.exception("flag change listener failed")
                self._stopped.wait(delay)

    def stop(self) -> None:
        self._stopped.set()

    def join(self) -> None:
        self._thread.join(timeout=2)


def _entry(entry_id: int, data: dict[str, Any]) -> AuditEntry:
    before = data.get("before")
    return AuditEntry(
        id=entry_id,
        at=str(data["at"]),
        actor=str(data["actor"]),
        endpoint=str(data["endpoint"]),
        before=Flag.from_dict(json.loads(before)) if before else None,
        after=Flag.from_dict(json.loads(data["after"])),
        reason=str(data["reason"]),
        version=int(data["version"]),
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def redacted(url: str) -> str:
    """The URL without its password, for messages."""
    url = re.sub(r"([?&]password=)[^&]*", r"\1***", url)
    scheme, _, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at:
        return url
    user = credentials.partition(":")[0]
    return f"{scheme}://{user + ':***' if user else ':***'}@{host}"
