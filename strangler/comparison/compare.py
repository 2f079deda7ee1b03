"""Comparing two answers: a pipeline of small normalisation steps, then a structural diff.

    Answer ─► keep_headers ─► keep_cookies ─► unorder_header_lists ─► decode_body
           ─► drop_ignored ─► check_types ─► check_patterns ─► View   (for each side)
    diff(legacy View, migrated View) ─► [Difference(where, legacy, migrated), ...]

Each step takes a View and the Rules and returns a new View, so every difference can be traced
to the rule that did (or did not) remove it. `where` is `status`, `header:NAME`, `cookie:NAME`,
`body` (raw bytes) or a JSON path such as `$.predictions[3]`.
"""

from __future__ import annotations

import dataclasses
import datetime
import email.utils
import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from strangler.comparison import jsonpath
from strangler.comparison.cases import ALL, Rules, answer_part


@dataclasses.dataclass(frozen=True)
class Answer:
    """What one side answered to one request, as received."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    raised: str | None = None  # in process: the exception the app raised, as `Type: message`
    broken: bool = False  # the response was cut off (an exception after it had started)

    def header(self, name: str) -> str | None:
        """The first value of header `name` (any case), or None."""
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)


class _Absent:
    def __repr__(self) -> str:
        return "(absent)"


ABSENT: Final = _Absent()  # a header, key or list item that one side does not have


@dataclasses.dataclass(frozen=True)
class Conforms:
    """Stands for a value that satisfied a `types:` or `patterns:` rule (so only that counts)."""

    rule: str

    def __repr__(self) -> str:
        return f"<{self.rule}>"


@dataclasses.dataclass(frozen=True)
class View:
    """An answer on its way through the pipeline: what is left to compare."""

    status: int
    headers: dict[str, str | Conforms]
    raw: bytes
    json: Any = None
    is_json: bool = False
    cookies: dict[str, str | Conforms] = dataclasses.field(default_factory=dict)  # Set-Cookie
    cookie_shapes: dict[str, str] = dataclasses.field(default_factory=dict)  # name -> attributes


@dataclasses.dataclass(frozen=True)
class Difference:
    """One place where the two sides' answers differ after normalisation."""

    where: str
    legacy: Any
    migrated: Any


Step = Callable[[View, Rules], View]


def view(answer: Answer) -> View:
    """The raw view of an answer: every header (lower-case names), the cookies it sets, the body.

    Several fields of one header are joined with ", ", except Set-Cookie, whose lines are joined
    with a newline (a cookie's Expires holds a comma).
    """
    headers: dict[str, str | Conforms] = {}
    cookies: dict[str, str | Conforms] = {}
    shapes: dict[str, str] = {}
    for name, value in answer.headers:
        key = name.lower()
        joint = "\n" if key == "set-cookie" else ", "
        headers[key] = f"{headers[key]}{joint}{value}" if key in headers else value
        if key == "set-cookie":
            cookie, _, attributes = value.partition(";")
            cookie_name, _, cookie_value = cookie.partition("=")
            cookies[cookie_name.strip()] = cookie_value.strip()
            shapes[cookie_name.strip()] = cookie_shape(cookie_value.strip(), attributes)
    return View(answer.status, headers, answer.body, cookies=cookies, cookie_shapes=shapes)


def cookie_shape(value: str, attributes: str) -> str:
    """A Set-Cookie line without its value and dates: what clients act on (HttpOnly, Secure,
    Path, Domain, SameSite) and whether it sets or deletes the cookie."""
    parts = []
    deleted = value in ("", '""')
    for attribute in attributes.split(";"):
        name, _, setting = attribute.strip().partition("=")
        name = name.strip().lower()
        if not name:
            continue
        if name in ("path", "domain", "samesite"):
            parts.append(f"{name}={setting.strip().lower()}")
        elif name == "max-age":
            parts.append("max-age")
            deleted = deleted or setting.strip() in ("0", "-1")
        elif name == "expires":
            parts.append("expires")
            deleted = deleted or _in_the_past(setting)
        else:
            parts.append(name)
    return "; ".join(["deleted" if deleted else "set", *sorted(parts)])


def _in_the_past(date: str) -> bool:
    """Whether a cookie's Expires date has passed (a deletion): 1970, or any date before now."""
    try:
        when = email.utils.parsedate_to_datetime(date.strip())
    except (TypeError, ValueError):
        return False
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return when <= datetime.datetime.now(datetime.UTC)


def _named(rules: Rules, kind: str) -> set[str]:
    """The header or cookie names the `types` and `patterns` rules speak of."""
    parts = (answer_part(location) for location in (*rules.types, *rules.patterns))
    return {part[1] for part in parts if part is not None and part[0] == kind}


def keep_headers(current: View, rules: Rules) -> View:
    """Keeps the headers the rules compare: every one (`headers: all`) but Set-Cookie (the
    cookie rules' business) and the `ignore_headers`, or only those `headers` names; those
    named by `types`/`patterns` in any case."""
    ignored = set(rules.ignore_headers)
    if rules.headers == ALL:
        kept = {k for k in current.headers if k != "set-cookie" and k not in ignored}
    else:
        kept = {name.lower() for name in rules.headers} - ignored
    wanted = kept | _named(rules, "header")
    return dataclasses.replace(
        current, headers={k: v for k, v in current.headers.items() if k in wanted}
    )


def keep_cookies(current: View, rules: Rules) -> View:
    """Keeps only the cookie values the `types`/`patterns` rules name, and the cookies' shapes
    unless `cookie_attributes` is off."""
    wanted = _named(rules, "cookie")
    return dataclasses.replace(
        current,
        cookies={k: v for k, v in current.cookies.items() if k in wanted},
        cookie_shapes=current.cookie_shapes if rules.cookie_attributes else {},
    )


def unorder_header_lists(current: View, rules: Rules) -> View:
    """Sorts the items of list headers (`Allow`, `Vary`, `Cache-Control`), whose order and
    repeats carry no meaning (`Vary: Origin, Origin` is `Vary: Origin`)."""
    lists = {name.lower() for name in rules.header_lists}
    headers = {
        k: ", ".join(sorted({item.strip() for item in v.split(",")} - {""}))
        if k in lists and isinstance(v, str)
        else v
        for k, v in current.headers.items()
    }
    return dataclasses.replace(current, headers=headers)


def decode_body(current: View, rules: Rules) -> View:
    """Decodes the body as JSON (NaN and infinities allowed), unless the rules compare bytes."""
    if rules.body == "bytes" or not current.raw:
        return current
    try:
        decoded = json.loads(current.raw)
    except ValueError:  # includes UnicodeDecodeError
        return current
    return dataclasses.replace(current, json=decoded, is_json=True)


def drop_ignored(current: View, rules: Rules) -> View:
    """Removes the locations the `ignore` paths name."""
    if not current.is_json:
        return current
    value = current.json
    for path in rules.ignore:
        value = jsonpath.transform(value, jsonpath.parse(path), lambda _: jsonpath.DROP)
    return dataclasses.replace(current, json=value)


def check_types(current: View, rules: Rules) -> View:
    """Replaces values of the declared type with a marker, so only their type is compared."""
    for location, kind in rules.types.items():

        def of_type(value: Any, kind: str = kind) -> bool:
            return is_of_type(_scalar(value) if isinstance(value, str) else value, kind)

        def of_json_type(value: Any, kind: str = kind) -> bool:
            return is_of_type(value, kind)

        text_check = of_type if answer_part(location) else of_json_type
        current = _conform(current, location, text_check, Conforms(kind))
    return current


def check_patterns(current: View, rules: Rules) -> View:
    """Replaces strings matching the declared pattern with a marker naming the pattern."""
    for location, pattern in rules.patterns.items():
        compiled = re.compile(pattern)

        def matches(value: Any, compiled: re.Pattern[str] = compiled) -> bool:
            return isinstance(value, str) and bool(compiled.fullmatch(value))

        current = _conform(current, location, matches, Conforms(f"matches {compiled.pattern}"))
    return current


def _conform(
    current: View, location: str, conforms: Callable[[Any], bool], marker: Conforms
) -> View:
    """Applies one `types`/`patterns` rule at a JSON path, a header or a cookie: a value that
    conforms becomes `marker` (for a header, every one of its lines must conform)."""
    part = answer_part(location)
    if part is None:
        if not current.is_json:
            return current

        def mark(value: Any) -> Any:
            return marker if conforms(value) else value

        value = jsonpath.transform(current.json, jsonpath.parse(location), mark)
        return dataclasses.replace(current, json=value)
    kind, name = part
    values = current.headers if kind == "header" else current.cookies
    text = values.get(name)
    if not isinstance(text, str) or not all(conforms(line) for line in text.split("\n")):
        return current
    changed = {**values, name: marker}
    if kind == "header":
        return dataclasses.replace(current, headers=changed)
    return dataclasses.replace(current, cookies=changed)


def _scalar(text: str) -> Any:
    """A header's or cookie's text as the JSON value it spells, if any (else the string)."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, int | float | bool) or value is None else text


PIPELINE: Final[tuple[Step, ...]] = (
    keep_headers,
    keep_cookies,
    unorder_header_lists,
    decode_body,
    drop_ignored,
    check_types,
    check_patterns,
)


def normalise(answer: Answer, rules: Rules, pipeline: tuple[Step, ...] = PIPELINE) -> View:
    """Runs an answer through every step of the pipeline."""
    current = view(answer)
    for step in pipeline:
        current = step(current, rules)
    return current


def compare(legacy: Answer, migrated: Answer, rules: Rules) -> list[Difference]:
    """The differences between two answers under `rules`; empty when clients could not tell."""
    ours, theirs = normalise(legacy, rules), normalise(migrated, rules)
    found = diff(ours, theirs, rules.tolerance)
    if rules.body == "exact" and ours.is_json and theirs.is_json and ours.raw != theirs.raw:
        same_json = not any(d.where.startswith("$") for d in found)
        if same_json and not _touched(ours) and not _touched(theirs):
            found.append(Difference("body", ours.raw, theirs.raw))
    return found


def _touched(current: View) -> bool:
    """Whether a rule (ignore, types, patterns) changed the decoded body."""
    return _canonical(current.json) != _canonical(json.loads(current.raw))


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=repr, allow_nan=True)


def diff(legacy: View, migrated: View, tolerance: float = 0.0) -> list[Difference]:
    """Status, then headers, then the body: JSON structurally, anything else as bytes."""
    found: list[Difference] = []
    if legacy.status != migrated.status:
        found.append(Difference("status", legacy.status, migrated.status))
    found += diff_named("header", legacy.headers, migrated.headers)
    found += diff_named("cookie", legacy.cookies, migrated.cookies)
    found += diff_named("set-cookie", legacy.cookie_shapes, migrated.cookie_shapes)
    if legacy.is_json and migrated.is_json:
        found.extend(diff_json(legacy.json, migrated.json, (), tolerance))
    elif legacy.raw != migrated.raw:
        found.append(Difference("body", legacy.raw, migrated.raw))
    return found


def diff_named(
    kind: str, legacy: Mapping[str, object], migrated: Mapping[str, object]
) -> list[Difference]:
    """The differences between two sides' headers (or cookies) by name, `kind:NAME`."""
    return [
        Difference(f"{kind}:{name}", legacy.get(name, ABSENT), migrated.get(name, ABSENT))
        for name in sorted(legacy.keys() | migrated.keys())
        if legacy.get(name, ABSENT) != migrated.get(name, ABSENT)
    ]


def diff_json(
    legacy: Any, migrated: Any, location: jsonpath.Location = (), tolerance: float = 0.0
) -> list[Difference]:
    """The differences between two decoded JSON values, each named by its JSON path."""
    if isinstance(legacy, dict) and isinstance(migrated, dict):
        found: list[Difference] = []
        for key in [*legacy, *(k for k in migrated if k not in legacy)]:
            found.extend(
                diff_json(
                    legacy.get(key, ABSENT), migrated.get(key, ABSENT), (*location, key), tolerance
                )
            )
        return found
    if isinstance(legacy, list) and isinstance(migrated, list):
        found = []
        for index in range(max(len(legacy), len(migrated))):
            ours = legacy[index] if index < len(legacy) else ABSENT
            theirs = migrated[index] if index < len(migrated) else ABSENT
            found.extend(diff_json(ours, theirs, (*location, index), tolerance))
        return found
    if same_scalar(legacy, migrated, tolerance):
        return []
    return [Difference(jsonpath.format_location(location), legacy, migrated)]


def same_scalar(legacy: Any, migrated: Any, tolerance: float = 0.0) -> bool:
    """JSON equality of two leaves: NaN equals NaN; true is not 1; 1 is not 1.0 unless tolerant."""
    if json_type(legacy) in ("number", "integer") and json_type(migrated) in ("number", "integer"):
        both_floats = isinstance(legacy, float) and isinstance(migrated, float)
        if both_floats and math.isnan(legacy) and math.isnan(migrated):
            return True
        if tolerance == 0:
            return type(legacy) is type(migrated) and legacy == migrated
        if legacy == migrated:
            return True
        try:
            return math.isclose(legacy, migrated, rel_tol=tolerance, abs_tol=tolerance)
        except OverflowError:  # an int too big for a float: only equal ints are close
            return False
    return type(legacy) is type(migrated) and bool(legacy == migrated)


def is_of_type(value: Any, kind: str) -> bool:
    """Whether a decoded value has JSON type `kind` (an integer is a number too)."""
    actual = json_type(value)
    return actual == kind or (kind == "number" and actual == "integer")


def json_type(value: Any) -> str:
    """The JSON type name of a decoded value (`integer` for ints, `number` for floats)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__
