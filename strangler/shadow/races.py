"""Races: whether a request served meanwhile may have changed the world under a comparison.

A shadowed request is compared over a window: from the start of its sandboxed calls to the
end of its served call. Whatever another request served during that window wrote (a favorite
counted, a row inserted, a cache filled), the sandboxed calls may not have seen and the served
call may have, so a difference proves nothing either way: it is `raced`, not a mismatch.

The gateway notes every request it serves to an endpoint with a shadow share, shadowed or not
(`Served`, from its start to its end); requests to other endpoints are never noted, and cost
nothing. A window is raced when a noted request on the same path overlapped it and either

- may write: an unsafe method, on an endpoint not declared free of side effects, or
- is the same request (method and query; and body, when it is known: an unshadowed request's
  body is never read, so any body may be the same), which may fill a cache the other reads.

Everything here runs on the gateway's event loop: no locks.
"""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


class Window:
    """A shadowed request from the start of its sandboxed calls to the end of its served one."""

    __slots__ = ("body", "method", "query", "raced")

    def __init__(self, method: str, query: bytes, body: bytes) -> None:
        self.method = method
        self.query = query
        self.body = body
        self.raced = False

    def spoiled_by(self, other: Served) -> bool:
        """Whether `other`, served during this window, may have changed what it reads."""
        if other.window is self:
            return False  # its own served call
        if other.writes:
            return True
        return (
            other.method == self.method
            and other.query == self.query
            and (other.body is None or other.body == self.body)
        )


class Served:
    """A request being served to an endpoint with a shadow share. `body` is None when it was not
    read (not shadowed); `window` is its own when it is the served call of a shadowed request."""

    __slots__ = ("body", "method", "query", "window", "writes")

    def __init__(
        self,
        method: str,
        query: bytes,
        writes: bool,
        body: bytes | None = None,
        window: Window | None = None,
    ) -> None:
        self.method = method
        self.query = query
        self.writes = writes
        self.body = body
        self.window = window


class Races:
    """The requests being served and the windows open, by path (an entry lives while one does)."""

    def __init__(self) -> None:
        self._served: dict[str, list[Served]] = {}
        self._windows: dict[str, list[Window]] = {}

    def open(self, path: str, window: Window) -> None:
        """Opens `window`: raced already if a request that spoils it is being served."""
        for other in self._served.get(path, ()):
            if window.spoiled_by(other):
                window.raced = True
                break
        self._windows.setdefault(path, []).append(window)

    def close(self, path: str, window: Window) -> None:
        _remove(self._windows, path, window)

    def begin(self, path: str, served: Served) -> None:
        """Notes `served` as it starts: every open window on its path it spoils is raced."""
        for window in self._windows.get(path, ()):
            if window.spoiled_by(served):
                window.raced = True
        self._served.setdefault(path, []).append(served)

    def end(self, path: str, served: Served) -> None:
        _remove(self._served, path, served)

    def __len__(self) -> int:
        """Requests noted and windows open now (0 once everything is answered)."""
        return sum(map(len, self._served.values())) + sum(map(len, self._windows.values()))


def _remove(lists: dict[str, list[T]], path: str, item: T) -> None:
    """Removes `item` (they compare by identity: each request has its own) and an entry left
    empty, so paths seen once do not pile up."""
    entries = lists[path]
    entries.remove(item)
    if not entries:
        del lists[path]
