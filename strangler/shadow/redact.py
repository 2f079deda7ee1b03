"""Secrets out of what shadowing keeps, and a kept request written as a corpus case.

Headers that carry credentials are replaced (an `Authorization: Bearer` one by `Bearer ${token}`,
which a corpus file's login step captures), and so are the configured JSON paths of request and
response bodies (`shadow_redact`, by default the usual token and password fields).
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

REDACTED = "[redacted]"
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"}
)
DEFAULT_PATHS = ("$.token", "$.access_token", "$.refresh_token", "$.password", "$.secret")
# Request headers a corpus case has no use for: the client's and the connection's.
_TRANSPORT = frozenset(
    {"host", "content-length", "connection", "accept-encoding", "user-agent", "transfer-encoding"}
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
SECRET_FIELDS = frozenset(
    {"token", "password", "secret", "api_key", "access_token", "refresh_token"}
)


class Redactor:
    def __init__(self, paths: Iterable[str] = DEFAULT_PATHS) -> None:
        paths = list(paths)
        self._paths = [jsonpath.parse(path) for path in paths]
        # Query and form fields go by the same names as the secret JSON keys.
        self._fields = SECRET_FIELDS | {
            str(path[-1]) for path in self._paths if path and isinstance(path[-1], str)
        }
        # The same paths as a difference names them: `$.items[*].token` is `$.items[3].token`.
        self._wheres = [
            re.compile(
                re.escape(path).replace(r"\[\*\]", r"\[\d+\]").replace(r"\.\*", r"\.[^.\[]+")
            )
            for path in paths
        ]

    def difference(self, where: str, value: Any) -> str:
        """A value at `where` in a difference, as a report may show it."""
        secret_header = where.lower().split(":", 1)[-1] in SECRET_HEADERS
        whole = where in ("body", "$")  # a whole body holds whatever secrets it has
        if secret_header or whole or any(pattern.fullmatch(where) for pattern in self._wheres):
            return REDACTED
        return _cut(repr(value))

    def query(self, query: str) -> str:
        """A query string (or form body) with the secret fields' values replaced."""
        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
        if not any(name.lower() in self._fields for name, _ in pairs):
            return query
        return urllib.parse.urlencode(
            [(n, REDACTED if n.lower() in self._fields else v) for n, v in pairs]
        )

    def headers(self, headers: Iterable[tuple[str, str]]) -> dict[str, str]:
        shown: dict[str, str] = {}
        for name, value in headers:
            key = name.lower()
            if key in SECRET_HEADERS:
                value = REDACTED
            shown[key] = f"{shown[key]}, {value}" if key in shown else value
        return shown

    def body(self, body: bytes, *, form: bool = False, whole: bool = False) -> Any:
        """The body for a person to read: JSON with the secret paths replaced, a form with the
        secret fields replaced, else text; cut to SHOWN characters unless `whole` (a case)."""
        try:
            value = json.loads(body)
        except ValueError:
            text = body.decode("utf-8", "replace")
            text = self.query(text) if form else text
            return text if whole else _cut(text)
        for path in self._paths:
            value = jsonpath.transform(value, path, lambda _: REDACTED)
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
            "path": request.path,
            "query": self.query(request.query),
            "headers": self.headers(request.headers),
            "body": self.body(request.body, form=_is_form(request)) if request.body else None,
        }

    def case(self, name: str, request: SeenRequest, note: str = "") -> dict[str, Any]:
        """The request as a corpus case (contract_tests/*.yaml `cases:` item)."""
        case: dict[str, Any] = {"name": name}
        if note:
            case["description"] = note
        case["method"] = request.method
        case["path"] = request.path
        query = urllib.parse.parse_qs(self.query(request.query), keep_blank_values=True)
        if query:
            case["query"] = {k: v[0] if len(v) == 1 else v for k, v in query.items()}
        headers = {}
        for name_, value in request.headers:
            key = name_.lower()
            if key in _TRANSPORT or key.startswith("x-strangler-"):
                continue
            if key == "authorization" and value.lower().startswith("bearer "):
                value = "Bearer ${token}"  # captured by the corpus file's login step
            elif key in SECRET_HEADERS:
                value = REDACTED
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


def _cut(text: str) -> str:
    return text if len(text) <= SHOWN else f"{text[:SHOWN]}... ({len(text)} characters in all)"


def _is_form(request: SeenRequest) -> bool:
    return any(
        name.lower() == "content-type" and "x-www-form-urlencoded" in value.lower()
        for name, value in request.headers
    )
