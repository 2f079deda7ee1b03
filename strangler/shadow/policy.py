"""What shadowing treats as secret: one policy of names and places, and one exchange's secrets.

A value is secret when its name matches one of the policy's name patterns (globs, any case:
`*token*`, `*pass*`, `authorization`), be it a header, a cookie, a query or form field, a
`name=value` in a text body, or a JSON key at any depth; or when it sits at one of the policy's
JSON paths (`$.card.number`: a place whose name does not say it). Such a value is replaced by
REDACTED where it is and, being a secret of its exchange (one request and the answers to it),
wherever else it appears in that exchange: an app that echoes a token in a body or a header.
A secret shorter than MIN_ECHO characters is replaced where it is only: searched for elsewhere,
a "1" would blank every digit of the exchange.

Both lists come from one setting, `shadow_redact`: entries starting with `$` are JSON paths,
the others name patterns. Name patterns given replace DEFAULT_NAMES; a list of JSON paths only
(the setting's form before names were patterns) keeps DEFAULT_NAMES and adds the paths.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import re
import urllib.parse
from collections.abc import Iterable, Iterator

from strangler.comparison import jsonpath

REDACTED = "[redacted]"
DEFAULT_NAMES = (
    "*token*",
    "*secret*",
    "*pass*",
    "*key*",
    "*authorization",
    "*cookie",
    "*session*",
    "*credential*",
)
MIN_ECHO = 4

# `name=value`, `name: value`, `"name": "value"` in text: a form body, a log line, a header's
# value, JSON written out. Found from the patterns' literal parts (`token` of `*token*`), which
# one scan finds: text without any costs that scan only. Then the whole name around it, the
# separator after it, and the value, of which a credential's scheme (`Bearer abc`) is part.
_NAME_CHAR = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
_REST = re.compile(r'[\w.-]*?("?[ \t]*[=:][ \t]*"?)')
_VALUE = re.compile(r"""(?:(?:bearer|basic|token)[ \t]+)?[^\s&;,"'<>]+""", re.IGNORECASE)


class Policy:
    """Which names and JSON places are secret (see the module docstring)."""

    def __init__(self, entries: Iterable[str] = DEFAULT_NAMES) -> None:
        entries = list(entries)
        names = [entry for entry in entries if not entry.startswith("$")]
        self.names = tuple(names) if names else DEFAULT_NAMES
        self.paths = tuple(jsonpath.parse(entry) for entry in entries if entry.startswith("$"))
        self._names = re.compile("|".join(fnmatch.translate(n) for n in self.names), re.I)
        # Lower case, as the text is searched (str.find: a regular expression of alternatives
        # takes ten times as long); a pattern of wildcards only makes every name a candidate.
        self._literals = tuple(
            {max(re.split(r"[*?\[\]]", name), key=len).lower() for name in self.names}
        )
        # Names repeat (the same headers and keys in every request): each is matched once.
        self.secret_name = functools.lru_cache(maxsize=4096)(self._secret_name)

    def _secret_name(self, name: str) -> bool:
        return self._names.match(name) is not None

    def pairs(self, text: str) -> Iterator[tuple[int, int]]:
        """Where `text` has a secret name followed by `=` or `:`: (where the name starts, where
        its value does), in order."""
        after = 0
        for at, length in self._candidates(text):
            if at < after:
                continue  # within the name just looked at
            start = at
            while start > 0 and text[start - 1] in _NAME_CHAR:
                start -= 1
            rest = _REST.match(text, at + length)
            if rest is None:
                after = at + length
                continue
            after = rest.end()
            if self.secret_name(text[start : rest.start(1)]):
                yield start, rest.end()

    def _candidates(self, text: str) -> list[tuple[int, int]]:
        """Where a literal part of a pattern is in `text`, and its length."""
        if "" in self._literals:
            return [(m.start(), len(m[0])) for m in re.finditer(r"[\w.-]+", text)]
        low = text.lower()
        if len(low) != len(text):  # a letter whose lower case is longer: look name by name
            return [(m.start(), len(m[0])) for m in re.finditer(r"[\w.-]+", text)]
        found = []
        for literal in self._literals:
            at = low.find(literal)
            while at >= 0:
                found.append((at, len(literal)))
                at = low.find(literal, at + 1)
        return sorted(found)

    def at_path(self, location: tuple[str | int, ...]) -> bool:
        """Whether `location` (keys and indexes from the top of a body) is at or below one of
        the policy's JSON paths."""
        return bool(self.paths) and any(
            len(path) <= len(location)
            and all(t == jsonpath.ANY or t == at for t, at in zip(path, location, strict=False))
            for path in self.paths
        )

    def secret_where(self, where: str) -> bool:
        """Whether a difference's place (`header:x-api-key`, `cookie:sid`, `$.user.password`)
        holds a secret: a cookie (the policy names them), a secret name on its way, or a path."""
        kind, _, name = where.partition(":")
        if kind == "header" and name:
            return self.secret_name(name)
        if kind == "cookie" and name:
            return self.secret_name("cookie") or self.secret_name("set-cookie")
        location = _location(where)
        if location is None:
            return False
        return self.at_path(location) or any(
            isinstance(token, str) and self.secret_name(token) for token in location
        )


def _location(where: str) -> tuple[str | int, ...] | None:
    if not where.startswith("$"):
        return None
    try:
        return tuple(t for t in jsonpath.parse(where) if t is not jsonpath.ANY)
    except ValueError:
        return None


class Secrets:
    """The secrets found in one exchange, and text with every one of them replaced."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, value: object) -> None:
        """Keeps a secret value (a JSON string or number, a header's, a field's) to look for;
        of `Bearer abc` both the whole and `abc`."""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            return
        text = str(value).strip()
        if text == REDACTED:
            return
        for part in (text, text.partition(" ")[2]):
            if len(part) >= MIN_ECHO and part not in self._values:
                self._values.add(part)
                self._pattern = None

    def add_all(self, value: object) -> None:
        """Keeps every string and number inside a JSON value found at a secret place."""
        if isinstance(value, dict):
            for item in value.values():
                self.add_all(item)
        elif isinstance(value, list):
            for item in value:
                self.add_all(item)
        else:
            self.add(value)

    def mask(self, text: str) -> str:
        """`text` with each secret replaced, as written or encoded (in a URL, in JSON)."""
        if not self._values:
            return text
        if self._pattern is None:
            spellings = {
                spelling
                for value in self._values
                for spelling in (
                    value,
                    urllib.parse.quote(value, safe=""),
                    urllib.parse.quote_plus(value),
                    json.dumps(value)[1:-1],
                    json.dumps(value, ensure_ascii=False)[1:-1],
                )
            }
            # Longest first: a secret that holds another is replaced whole.
            ordered = sorted(spellings, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(s) for s in ordered))
        return self._pattern.sub(REDACTED, text)

    def text(self, text: str) -> str:
        """Free text (a text body, a header's value, a JSON string): the values of its
        `name=value` pairs of secret names replaced (and kept as secrets), then every secret
        known so far."""
        if "=" in text or ":" in text:
            shown, done = [], 0
            for start, end in self.policy.pairs(text):
                if start < done:
                    continue
                value = _VALUE.match(text, end)
                if value is None or value[0] == REDACTED:
                    continue
                self.add(value[0])
                shown += [text[done:end], REDACTED]
                done = value.end()
            text = "".join([*shown, text[done:]])
        return self.mask(text)
