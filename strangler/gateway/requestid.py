"""Request ids: kept when the client sent a sound one, made when not, passed to both apps.

A request id as sent is kept when it is printable ASCII without quotes or backslashes, up to 200
characters (it is logged and passed on as it is); any other is replaced by a new one.
"""

from __future__ import annotations

import os
import re

_VALID_ID = re.compile(rb"[!#-\[\]-~]{1,200}")


class RequestIds:
    """Request ids: the one the client sent if it is sound, else a new one, unique per
    process (a random prefix per process, then a counter: no syscall per request)."""

    def __init__(self) -> None:
        self._prefix = os.urandom(8).hex().encode() + b"-"
        self._count = 0

    def new(self) -> bytes:
        self._count += 1
        return self._prefix + b"%x" % self._count

    @staticmethod
    def valid(value: bytes) -> bool:
        return _VALID_ID.fullmatch(value) is not None
