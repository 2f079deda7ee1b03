"""Secrets out of what shadowing keeps, and a kept request written as a corpus case.

What is secret is the policy's (strangler.shadow.policy, from `shadow_redact`): values under
secret names or at secret JSON paths, in headers, cookies, queries, forms, text and JSON bodies,
in the request, both answers and their differences; and those values again wherever the same
exchange repeats them. Each exchange is read twice: once to find its secrets, once to show it
with all of them replaced. In a corpus case an `Authorization: Bearer` header becomes
`Bearer ${token}`, which a corpus file's login step captures (strangler.shadow.replay brings
that step into an exported file).
"""

from __future__ import annotations

import dataclasses
import json
import re
import urllib.parse
from collections.abc import Iterable
from typing import Any

from strangler.comparison import jsonpath
from strangler.comparison.compare import Answer
from strangler.shadow.policy import DEFAULT_NAMES, REDACTED, Policy, Secrets

__all__ = ["DEFAULT_NAMES", "REDACTED", "Exchange", "Redactor", "SeenRequest", "slug"]

# Request headers a corpus case has no use for: the client's and the connection's, and those
# the gateway sets for this one request: its request id (made or kept; also under the name
# `request_id_header` gives, see Redactor) and the trace context it hands the apps. Replayed,
# they would only repeat an old request's id and join an old trace.
_TRANSPORT = frozenset(
    {
        "host",
        "content-length",
        "connection",
        "accept-encoding",
        "user-agent",
        "transfer-encoding",
        "x-request-id",
        "traceparent",
        "tracestate",
    }
)


@dataclasses.dataclass(frozen=True)
class SeenRequest:
    """A live request as the gateway received it (body read whole)."""

    method: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    @property
    def target(self) -> str:
        return f"{self.method} {self.path}" + (f"?{self.query}" if self.query else "")


SHOWN = 4096  # characters of a body a report shows (the rest is summed up)


class Redactor:
    """The policy of one gateway's shadowing; `exchange` shows one request and its answers.
    gateway_headers: the request headers that gateway adds (its `request_id_header`), left out
    of corpus cases."""

    def __init__(
        self, entries: Iterable[str] = DEFAULT_NAMES, gateway_headers: Iterable[str] = ()
    ) -> None:
        self.policy = Policy(entries)
        self.left_out = _TRANSPORT | {name.lower() for name in gateway_headers}

    def exchange(self, request: SeenRequest, *answers: Answer | None) -> Exchange:
        return Exchange(self.policy, request, *answers, left_out=self.left_out)


class Exchange:
    """One request and the answers to it, as a report or a corpus case may show them."""

    def __init__(
        self,
        policy: Policy,
        request: SeenRequest,
        *answers: Answer | None,
        left_out: frozenset[str] = _TRANSPORT,  # request headers a corpus case does not carry
    ) -> None:
        self.policy = policy
        self.left_out = left_out
        self.secrets = Secrets(policy)
        # The first reading finds the secrets (what it shows is dropped): the second, by the
        # caller, replaces each of them wherever it is, whichever part it was found in.
        self.case("", request)
        for answer in answers:
            self.answer(answer)

    def difference(self, where: str, value: Any) -> str:
        """A value at `where` in a difference, as a report may show it."""
        whole = where in ("body", "$")  # a whole body holds whatever secrets it has
        if whole or self.policy.secret_where(where):
            return REDACTED
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        location = tuple(t for t in _location(where) if t is not jsonpath.ANY)
        return _cut(repr(self.json(value, location)))

    def where(self, where: str) -> str:
        return self.secrets.mask(where)

    def text(self, text: str) -> str:
        return self.secrets.text(text)

    def query(self, query: str) -> str:
        """A query string (or form body) with the secret fields' values replaced."""
        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
        shown = []
        for name, value in pairs:
            if self.policy.secret_name(name):
                self.secrets.add(value)
                value = REDACTED
            else:
                value = self.secrets.text(value)
            shown.append((self.secrets.mask(name), value))
        if shown == pairs:
            return query  # as the client wrote it
        return urllib.parse.urlencode(shown)

    def headers(self, headers: Iterable[tuple[str, str]]) -> dict[str, str]:
        shown: dict[str, str] = {}
        for name, value in headers:
            key = name.lower()
            value = self._header(key, value)
            shown[key] = f"{shown[key]}, {value}" if key in shown else value
        return shown

    def _header(self, key: str, value: str) -> str:
        if not self.policy.secret_name(key):
            return self.secrets.text(value)
        self.secrets.add(value)
        if key.endswith("cookie"):  # each cookie's value, as an app may echo it alone
            for cookie in value.split(";" if key == "cookie" else "\n"):
                self.secrets.add(cookie.split(";")[0].partition("=")[2])
        return REDACTED

    def json(self, value: Any, location: tuple[str | int, ...] = ()) -> Any:
        """A decoded JSON value with what is at secret keys and paths replaced, at any depth;
        then its strings' secret `name=value` pairs and the exchange's secrets, in one pass
        over the value written out (a walk string by string costs ten times as much)."""
        if isinstance(value, str):
            return self.secrets.text(value)
        if not isinstance(value, dict | list):
            return self._places(value, location)
        text = json.dumps(value, ensure_ascii=False)
        if self.policy.paths or any(self.policy.pairs(text)):  # else no secret key in it
            shown = self._places(value, location)
            text = json.dumps(shown, ensure_ascii=False)
        else:
            shown = value
        masked = self.secrets.text(text)
        if masked == text:
            return shown
        try:
            return json.loads(masked)
        except ValueError:  # a secret that spans JSON's own punctuation, or is a number
            return self._strings(shown)

    def _places(self, value: Any, location: tuple[str | int, ...]) -> Any:
        """`value` with what is under a secret key or at a secret path replaced. Only the
        containers are visited (and followed by location only if the policy has paths)."""
        paths = bool(self.policy.paths)
        if isinstance(value, dict):
            shown = {}
            for key, item in value.items():
                at = (*location, key) if paths else location
                if self.policy.secret_name(key) or (paths and self.policy.at_path(at)):
                    self.secrets.add_all(item)
                    shown[key] = REDACTED
                elif isinstance(item, dict | list) or paths:
                    shown[key] = self._places(item, at)
                else:
                    shown[key] = item
            return shown
        if isinstance(value, list):
            if not paths:
                return [
                    self._places(x, location) if isinstance(x, dict | list) else x for x in value
                ]
            return [self._places(item, (*location, i)) for i, item in enumerate(value)]
        if paths and not isinstance(value, str) and self.policy.at_path(location):
            self.secrets.add(value)
            return REDACTED
        return value

    def _strings(self, value: Any) -> Any:
        """`value` with every key and string masked, one by one."""
        if isinstance(value, dict):
            return {self.secrets.text(str(k)): self._strings(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._strings(item) for item in value]
        return self.secrets.text(value) if isinstance(value, str) else value

    def body(self, body: bytes, *, form: bool = False, whole: bool = False) -> Any:
        """The body for a person to read: JSON with the secret keys and paths replaced, a form
        with the secret fields replaced, else text with its secret `name=value` pairs replaced;
        cut to SHOWN characters unless `whole` (a case)."""
        try:
            value = json.loads(body)
        except ValueError:
            text = body.decode("utf-8", "replace")
            text = self.query(text) if form else self.secrets.text(text)
            return text if whole else _cut(text)
        if self.policy.at_path(()):
            return REDACTED
        value = self.json(value)
        if not whole and len(shown := json.dumps(value)) > SHOWN:
            return _cut(shown)
        return value

    def answer(self, answer: Answer | None) -> dict[str, Any] | None:
        if answer is None:
            return None
        return {
            "status": answer.status,
            "headers": self.headers(answer.headers),
            "body": self.body(answer.body),
        }

    def request(self, request: SeenRequest) -> dict[str, Any]:
        return {
            "method": request.method,
            "path": self.secrets.mask(request.path),
            "query": self.query(request.query),
            "headers": self.headers(request.headers),
            "body": self.body(request.body, form=_is_form(request)) if request.body else None,
        }

    def case(self, name: str, request: SeenRequest, note: str = "") -> dict[str, Any]:
        """The request as a corpus case (contract_tests/*.yaml `cases:` item)."""
        case: dict[str, Any] = {"name": name}
        if note:
            case["description"] = self.secrets.mask(note)
        case["method"] = request.method
        case["path"] = self.secrets.mask(request.path)
        query = urllib.parse.parse_qs(self.query(request.query), keep_blank_values=True)
        if query:
            case["query"] = {k: v[0] if len(v) == 1 else v for k, v in query.items()}
        headers = {}
        for name_, value in request.headers:
            key = name_.lower()
            if key in self.left_out or key.startswith("x-strangler-"):
                continue
            if key == "authorization" and value.lower().startswith("bearer "):
                self.secrets.add(value)
                value = "Bearer ${token}"  # captured by the corpus file's login step
            else:
                value = self._header(key, value)
            headers[key] = value
        if request.body:
            body = self.body(request.body, form=_is_form(request), whole=True)
            if isinstance(body, str):
                case["body"] = body
            else:
                headers.pop("content-type", None)  # `json:` sends its own
                case["json"] = body
        if headers:
            case["headers"] = headers
        return case


def slug(key: str) -> str:
    """`GET /items/{item_id}` -> `get-items-item-id`: for case and file names."""
    return re.sub(r"[^a-z0-9]+", "-", key.lower()).strip("-")


def _location(where: str) -> tuple[str | int, ...]:
    """The keys and indexes of a difference's JSON place (none for `header:x`, `status`)."""
    if not where.startswith("$"):
        return ()
    try:
        return jsonpath.parse(where)
    except ValueError:
        return ()


def _cut(text: str) -> str:
    return text if len(text) <= SHOWN else f"{text[:SHOWN]}... ({len(text)} characters in all)"


def _is_form(request: SeenRequest) -> bool:
    return any(
        name.lower() == "content-type" and "x-www-form-urlencoded" in value.lower()
        for name, value in request.headers
    )
