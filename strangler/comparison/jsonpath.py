"""The small JSON path dialect of the corpus: `$`, `.key`, `["any key"]`, `[3]`, `[*]` and `.*`.

    $.token                 the `token` key of the top-level object
    $.predictions[*]        every item of the `predictions` list
    $.items[0].id           `id` of the first item
    $.*.updated_at          `updated_at` of every value of the top-level object

Paths name locations in a decoded JSON body; the same notation names where two bodies differ.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Final

# A parsed path: keys (str), indexes (int) and the wildcard.
ANY: Final = "*"
Token = str | int
Location = tuple[str | int, ...]

_TOKEN = re.compile(
    r"\.(?P<key>[A-Za-z_][\w-]*|\*)"  # .key or .*
    r"|\[(?P<index>-?\d+|\*)\]"  # [3] or [*]
    r'|\[(?P<quoted>"(?:[^"\\]|\\.)*")\]'  # ["any key"]
)
_IDENTIFIER = re.compile(r"[A-Za-z_][\w-]*")


class _Drop:
    """Returned by a transform function to remove the location it was given."""


DROP: Final = _Drop()


def parse(path: str) -> tuple[Token, ...]:
    """Parses `path` into keys, indexes and wildcards; ValueError says what is wrong with it."""
    if not path.startswith("$"):
        raise ValueError(f"JSON path {path!r} must start with '$', e.g. '$.token' or '$.items[*]'")
    tokens: list[Token] = []
    position = 1
    while position < len(path):
        match = _TOKEN.match(path, position)
        if match is None:
            raise ValueError(
                f"JSON path {path!r}: cannot read {path[position:]!r};"
                ' use .key, ["key"], [0] or [*]'
            )
        if match["key"] is not None:
            tokens.append(ANY if match["key"] == "*" else match["key"])
        elif match["index"] is not None:
            tokens.append(ANY if match["index"] == "*" else int(match["index"]))
        else:
            tokens.append(json.loads(match["quoted"]))
        position = match.end()
    return tuple(tokens)


def format_location(location: Location) -> str:
    """Writes a concrete location back as a path: ('a', 0, 'b c') -> `$.a[0]["b c"]`."""
    parts = ["$"]
    for part in location:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif _IDENTIFIER.fullmatch(part):
            parts.append(f".{part}")
        else:
            parts.append(f"[{json.dumps(part)}]")
    return "".join(parts)


def transform(value: Any, path: tuple[Token, ...], function: Callable[[Any], Any]) -> Any:
    """Returns a copy of `value` with `function` applied at every location `path` names.

    `function` returns the new value, or DROP to remove the location. Locations that do not exist
    are left alone: a path is a rule about a body, not a claim that the body has that shape.
    """
    if not path:
        return function(value)
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        keys = list(value) if head == ANY else [head] if isinstance(head, str) else []
        result = dict(value)
        for key in keys:
            if key in result:
                new = transform(result[key], rest, function)
                if new is DROP:
                    del result[key]
                else:
                    result[key] = new
        return result
    if isinstance(value, list):
        if head == ANY:
            indexes = list(range(len(value)))
        elif isinstance(head, int) and -len(value) <= head < len(value):
            indexes = [head % len(value)]
        else:
            indexes = []
        items = list(value)
        dropped = set()
        for index in indexes:
            new = transform(items[index], rest, function)
            if new is DROP:
                dropped.add(index)
            else:
                items[index] = new
        return [item for i, item in enumerate(items) if i not in dropped]
    return value


def find(value: Any, path: tuple[Token, ...]) -> list[Any]:
    """Returns the values at every location `path` names, in document order."""
    found: list[Any] = []

    def keep(item: Any) -> Any:
        found.append(item)
        return item

    transform(value, path, keep)
    return found
