"""What a contract corpus holds, once loaded: cases of steps of requests, and comparison rules.

A case is a scenario: its steps run in order on one side (legacy or migrated) from fresh state,
then again on the other side, and each step's answers are compared. A step may capture values
from its answer (`${token}` in later steps) and may be sent `repeat` times (cache hits). A step
may name the backend it always goes to (`backend:`); a `mixed` case is also played in the orders
a canary produces, some steps on each backend, with cookies and captures carried across. A step
pinned so with only pinned steps before it is setup: it runs in every play, but its answers are
not compared (a step's `compare: true | false` says otherwise).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, Literal

from strangler.comparison import jsonpath
from strangler.types import Backend


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()  # a request without a JSON body (a JSON `null` body is None)

BodyMode = Literal["auto", "json", "bytes", "exact"]
ALL: Final = "all"  # `headers: all`: every response header is compared but the ignored ones
# Response headers no client can rely on being the same from two servers: the clock, the
# server's name and the framing (the body's bytes are compared; how they were framed is the
# server's business). The gateway adds its own (its backend mark and request id) from its
# settings; `volatile_headers` replaces this list gateway-wide.
VOLATILE_HEADERS: Final = (
    "date",
    "server",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
)
# The gateway's own answer headers under their default names (strangler.settings'
# backend_header and request_id_header), which differ between two answers by design: left out
# by default, so that rules made without the settings (the library's API) leave them out too.
GATEWAY_HEADERS: Final = ("x-strangler-backend", "x-request-id")
# Headers whose value is a comma-separated list in which order and repeats carry no meaning.
LIST_HEADERS: Final = (
    "allow",
    "vary",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-expose-headers",
    "cache-control",
)
JSON_TYPES: Final = ("string", "number", "integer", "boolean", "null", "object", "array")


@dataclasses.dataclass(frozen=True)
class Request:
    """One HTTP request as the corpus describes it; strings may hold `${name}` captures.

    At most one of `json` (any JSON value, NaN and infinities included), `form` and `body` (raw
    text or bytes) is given. A header whose value is None is not sent, not even the
    Content-Type that a `json` or `form` body would add; a list is sent as repeated fields.
    """

    method: str = "GET"
    path: str = "/"
    headers: Mapping[str, str | list[str] | None] = dataclasses.field(default_factory=dict)
    query: Mapping[str, str | list[str]] = dataclasses.field(default_factory=dict)
    json: Any = MISSING
    form: Mapping[str, str] | None = None
    body: str | bytes | None = None

    @property
    def target(self) -> str:
        """`METHOD /path` with the path as sent (not a template)."""
        return f"{self.method} {self.path}"


@dataclasses.dataclass(frozen=True)
class Step:
    """A request, what to keep from its answer, and how many times to send it."""

    request: Request
    name: str = ""
    capture: Mapping[str, str] = dataclasses.field(
        default_factory=dict
    )  # name -> $.path | header:X
    repeat: int = 1
    backend: Backend | None = None  # pinned: this step goes to this backend in every order
    compare: bool | None = None  # None: compared unless it is setup (see Case.compared)


@dataclasses.dataclass(frozen=True)
class Rules:
    """How two answers are compared (see compare.py for the pipeline that applies them).

    headers: "all" (the default): every response header but the `ignore_headers`; or a list of
        the names compared (any case). A header one side sends and the other does not is a
        difference at `header:NAME`. Set-Cookie is left to `cookie_attributes` unless named.
    ignore_headers: names never compared, even when `headers` names them: VOLATILE_HEADERS and
        the gateway's own (its backend mark, its request id: GATEWAY_HEADERS, or as the
        settings name them), then what the corpus adds.
    header_lists: headers compared as sets of comma-separated items (`Allow: GET, HEAD` equals
        `Allow: HEAD, GET`; Vary, CORS lists and Cache-Control directives alike).
    cookie_attributes: each cookie an answer sets is compared by name and attributes (HttpOnly,
        Secure, Path, SameSite, deletion...), not by value, at `set-cookie:NAME`.
    ignore: JSON paths removed from both bodies before comparing.
    types: JSON path (or `header:NAME`, `cookie:NAME`) -> JSON type: the value only has to be of
        that type on both sides (a header's or cookie's text is read as a number or boolean).
    patterns: JSON path (or `header:NAME`, `cookie:NAME`) -> regular expression the (string)
        value must match on both sides. A header or cookie named here is compared even when
        `headers` leaves it out; several Set-Cookie lines must each match.
    tolerance: numbers within this absolute or relative distance are equal; with 0, numbers must
        also agree on int versus float.
    body: "json" compares decoded JSON, "bytes" the raw bytes, "auto" JSON when both sides parse;
        "exact" as "auto", and where no rule touched either JSON body, the bytes too (key order,
        spacing, the trailing newline: for clients that parse by hand or compare checksums).
    """

    headers: Literal["all"] | tuple[str, ...] = ALL
    ignore_headers: tuple[str, ...] = (*VOLATILE_HEADERS, *GATEWAY_HEADERS)
    header_lists: tuple[str, ...] = LIST_HEADERS
    ignore: tuple[str, ...] = ()
    types: Mapping[str, str] = dataclasses.field(default_factory=dict)
    patterns: Mapping[str, str] = dataclasses.field(default_factory=dict)
    tolerance: float = 0.0
    body: BodyMode = "auto"
    cookie_attributes: bool = True

    def merged(self, override: Mapping[str, Any]) -> Rules:
        """These rules with a case's or file's `compare:` block applied.

        `headers`, `header_lists`, `tolerance` and `body` replace; `ignore`, `ignore_headers`,
        `types` and `patterns` add to what is already there.
        """
        headers = override.get("headers", self.headers)
        ignored = (*self.ignore_headers, *(h.lower() for h in override.get("ignore_headers", ())))
        return Rules(
            headers=ALL if headers == ALL else tuple(h.lower() for h in headers),
            ignore_headers=tuple(dict.fromkeys(ignored)),
            header_lists=tuple(h.lower() for h in override.get("header_lists", self.header_lists)),
            ignore=(*self.ignore, *override.get("ignore", ())),
            types={**self.types, **override.get("types", {})},
            patterns={**self.patterns, **override.get("patterns", {})},
            tolerance=float(override.get("tolerance", self.tolerance)),
            body=override.get("body", self.body),
            cookie_attributes=bool(override.get("cookie_attributes", self.cookie_attributes)),
        )


@dataclasses.dataclass(frozen=True)
class Case:
    """A named scenario: steps replayed on each side from fresh state, compared step by step."""

    name: str
    steps: tuple[Step, ...]
    rules: Rules = dataclasses.field(default_factory=Rules)
    file: Path | None = None
    endpoint: str | None = None  # the file's `endpoint:`, for the ledger and fuzzing
    stateful: bool = False  # depends on fresh state: where there is no reset hook it may differ
    description: str = ""
    mixed: int = 0  # > 0: also played in up to this many orders across the two backends

    @property
    def where(self) -> str:
        """`file::name`, as errors and reports name the case."""
        return f"{self.file.name}::{self.name}" if self.file else self.name

    def compared(self, index: int) -> bool:
        """Whether the answers of step `index` are compared: as its `compare:` says, else unless
        it is setup: pinned to a backend with only pinned steps before it. Every play then sends
        it to the same backend after the same requests, so its answers can differ only by noise
        (a timestamp, a fresh token); it still runs, and its captures feed later steps."""
        step = self.steps[index]
        if step.compare is not None:
            return step.compare
        return any(earlier.backend is None for earlier in self.steps[: index + 1])


def answer_part(location: str) -> tuple[str, str] | None:
    """(`header`, name) or (`cookie`, name) for `header:NAME` / `cookie:NAME`, else None (a JSON
    path). Names are lower-cased for headers, kept as written for cookies."""
    kind, colon, name = location.partition(":")
    kind = kind.strip().lower()
    if not colon or kind not in ("header", "cookie") or not name.strip():
        return None
    return kind, name.strip().lower() if kind == "header" else name.strip()


def check_rules(block: Mapping[str, Any]) -> None:
    """Raises ValueError naming the first thing wrong with a `compare:` block."""
    known = {f.name for f in dataclasses.fields(Rules)}
    unknown = sorted(set(block) - known)
    if unknown:
        raise ValueError(f"unknown compare rule(s) {unknown}; known: {sorted(known)}")
    if block.get("headers") == ALL:
        block = {k: v for k, v in block.items() if k != "headers"}
    elif not isinstance(block.get("headers", []), list):
        raise ValueError("compare.headers must be all or a list of header names")
    for name in ("headers", "ignore_headers", "header_lists", "ignore"):
        value = block.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"compare.{name} must be a list of strings")
    for path in block.get("ignore", []):
        jsonpath.parse(path)
    for name in ("types", "patterns"):
        value = block.get(name, {})
        if not isinstance(value, dict):
            raise ValueError(
                f"compare.{name} must map JSON paths, header:NAME or cookie:NAME to values,"
                " e.g. $.token: ..."
            )
        for path in value:
            if not answer_part(str(path)):
                jsonpath.parse(path)
    for path, kind in block.get("types", {}).items():
        if kind not in JSON_TYPES:
            raise ValueError(f"compare.types[{path!r}]: {kind!r} is not one of {list(JSON_TYPES)}")
    for path, pattern in block.get("patterns", {}).items():
        try:
            re.compile(str(pattern))
        except re.error as exc:
            raise ValueError(f"compare.patterns[{path!r}]: bad regular expression: {exc}") from None
    tolerance = block.get("tolerance", 0)
    if isinstance(tolerance, bool) or not isinstance(tolerance, int | float) or tolerance < 0:
        raise ValueError("compare.tolerance must be a number of at least 0, e.g. 1e-9")
    if not isinstance(block.get("cookie_attributes", True), bool):
        raise ValueError("compare.cookie_attributes must be true or false")
    if block.get("body", "auto") not in ("auto", "json", "bytes", "exact"):
        raise ValueError("compare.body must be auto, json, bytes or exact")
