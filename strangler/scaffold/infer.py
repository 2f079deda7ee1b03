"""Pydantic models inferred from JSON samples, written as Python source.

    samples ─► merge into one Shape per place ─► the Python type of each place ─► class lines

A field present in some samples only is optional (`= None`), and so is one that was null; a
string place whose values all parse as a UUID, a date-time or a date gets that type; a string
place seen at least `ENUM_MIN_SAMPLES` times with few distinct values becomes a `Literal` of
them. An object whose keys are not all names (`User-Agent`, `2024`) is a `dict[str, ...]`, not a
model. Every type written accepts every sample it came from (tests/scaffold/test_infer.py).

Our own rather than datamodel-code-generator's JSON input (genson underneath): from the same
samples that one writes every string as `str` (no UUID, date-time nor enum), needs one document
(several samples must first be wrapped in a list) and brings black and isort with it.
"""

from __future__ import annotations

import dataclasses
import datetime
import keyword
import re
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from strangler.scaffold.pretty import literal

# A field may not shadow BaseModel's own names (`json`, `copy`, `schema`...): it gets a `_`.
_TAKEN = frozenset(dir(BaseModel))
ENUM_MIN_SAMPLES = 3  # fewer samples than this show no enum: two values are just two values
ENUM_MAX_VALUES = 5
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?\Z")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")


@dataclasses.dataclass
class Shape:
    """What the samples showed at one place: how often, of which JSON kinds, with which
    values (strings), keys (objects) and items (lists)."""

    seen: int = 0
    nulls: int = 0
    kinds: set[str] = dataclasses.field(default_factory=set)  # bool int float str object list
    strings: list[str] = dataclasses.field(default_factory=list)
    fields: dict[str, Shape] = dataclasses.field(default_factory=dict)
    objects: int = 0
    items: Shape | None = None

    def add(self, value: Any) -> None:
        self.seen += 1
        if value is None:
            self.nulls += 1
        elif isinstance(value, bool):
            self.kinds.add("bool")
        elif isinstance(value, int):
            self.kinds.add("int")
        elif isinstance(value, float):
            self.kinds.add("float")
        elif isinstance(value, str):
            self.kinds.add("str")
            self.strings.append(value)
        elif isinstance(value, dict):
            self.kinds.add("object")
            self.objects += 1
            for key, item in value.items():
                self.fields.setdefault(str(key), Shape()).add(item)
        elif isinstance(value, list):
            self.kinds.add("list")
            if self.items is None:
                self.items = Shape()
            for item in value:
                self.items.add(item)


def shape_of(samples: Iterable[Any]) -> Shape:
    shape = Shape()
    for sample in samples:
        shape.add(sample)
    return shape


class Models:
    """The classes written so far (in dependency order) and the names they took."""

    def __init__(self) -> None:
        self.classes: list[str] = []
        self.names: set[str] = set()
        self.imports: set[str] = set()  # `datetime`, `uuid`, `Literal`, `Field`...

    def name(self, wanted: str) -> str:
        base = class_name(wanted)
        name, n = base, 2
        while name in self.names:
            name, n = f"{base}{n}", n + 1
        self.names.add(name)
        return name

    def model(self, name: str, samples: list[Any]) -> str:
        """The name of a model (written here) that validates every one of `samples`: a
        BaseModel for objects, else a RootModel of their type."""
        shape = shape_of(samples)
        if shape.kinds == {"object"} and not shape.nulls and _named(shape):
            return self._object(name, shape)
        name = self.name(name)
        self.imports.add("RootModel")
        self.classes.append(f"class {name}(RootModel[{self.type_of(name, shape)}]):\n")
        self.classes[-1] += "    pass\n"
        return name

    def type_of(self, name: str, shape: Shape) -> str:
        """The Python type of a place whose samples made `shape` (its nulls make it optional)."""
        kinds = set(shape.kinds)
        if "int" in kinds and "float" in kinds:
            kinds.discard("int")
        types = [self._kind(name, kind, shape) for kind in sorted(kinds)]
        if not types:
            types = ["Any"] if not shape.nulls else []
            if types:
                self.imports.add("Any")
        if shape.nulls:
            types.append("None")
        return " | ".join(types) or "None"

    def _kind(self, name: str, kind: str, shape: Shape) -> str:
        if kind == "str":
            return self._string(shape.strings)
        if kind == "list":
            assert shape.items is not None
            if not shape.items.seen:
                self.imports.add("Any")
                return "list[Any]"
            return f"list[{self.type_of(name + 'Item', shape.items)}]"
        if kind == "object":
            if _named(shape):
                return self._object(name, shape)
            values = Shape()
            for field in shape.fields.values():
                _merge(values, field)
            if not values.seen:
                self.imports.add("Any")
                return "dict[str, Any]"
            return f"dict[str, {self.type_of(name + 'Value', values)}]"
        return kind

    def _string(self, values: list[str]) -> str:
        if values and all(_UUID.match(v) for v in values):
            self.imports.add("uuid")
            return "uuid.UUID"
        if values and all(_DATETIME.match(v) and _parses_datetime(v) for v in values):
            self.imports.add("datetime")
            return "datetime.datetime"
        if values and all(_DATE.match(v) and _parses_date(v) for v in values):
            self.imports.add("datetime")
            return "datetime.date"
        distinct = sorted(set(values))
        if len(values) >= ENUM_MIN_SAMPLES and len(distinct) <= min(
            ENUM_MAX_VALUES, len(values) - 1
        ):
            self.imports.add("Literal")
            return "Literal[" + ", ".join(literal(v) for v in distinct) + "]"
        return "str"

    def _object(self, name: str, shape: Shape) -> str:
        name = self.name(name)
        lines = [f"class {name}(BaseModel):\n"]
        aliased = False
        for key, field in shape.fields.items():
            python = field_name(key)
            typed = self.type_of(name + class_name(key), field)
            optional = field.seen < shape.objects or field.nulls
            if optional and "None" not in typed.split(" | "):
                typed += " | None"
            default = " = None" if optional else ""
            if python != key:
                aliased = True
                self.imports.add("Field")
                default = f" = Field({'None, ' if optional else ''}alias={literal(key)})"
            lines.append(f"    {python}: {typed}{default}\n")
        if aliased:
            self.imports.add("ConfigDict")
            lines.insert(1, "    model_config = ConfigDict(populate_by_name=True)\n\n")
        if len(lines) == 1:
            lines.append("    pass\n")
        self.classes.append("".join(lines))
        return name

    def header(self) -> list[str]:
        """The import lines the classes need."""
        lines = []
        if "datetime" in self.imports:
            lines.append("import datetime\n")
        if "uuid" in self.imports:
            lines.append("import uuid\n")
        typing = sorted({"Any", "Literal"} & self.imports)
        if typing:
            lines.append(f"from typing import {', '.join(typing)}\n")
        pydantic = sorted({"ConfigDict", "Field", "RootModel"} & self.imports | {"BaseModel"})
        lines.append(f"from pydantic import {', '.join(pydantic)}\n")
        return lines


def _merge(into: Shape, shape: Shape) -> None:
    into.seen += shape.seen
    into.nulls += shape.nulls
    into.kinds |= shape.kinds
    into.strings += shape.strings
    into.objects += shape.objects
    for key, field in shape.fields.items():
        _merge(into.fields.setdefault(key, Shape()), field)
    if shape.items is not None:
        if into.items is None:
            into.items = Shape()
        _merge(into.items, shape.items)


def _named(shape: Shape) -> bool:
    """An object is a model when it has keys and each is a name (a keyword or `_x` gets an
    alias); a header map (`User-Agent`) or an id-keyed map (`"42"`) is a dict."""
    return bool(shape.fields) and all(_NAME.match(key) for key in shape.fields)


def _parses_datetime(value: str) -> bool:
    try:
        datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _parses_date(value: str) -> bool:
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def class_name(text: str) -> str:
    """`get /items/{id}` -> `GetItemsId`."""
    words = re.findall(r"[A-Za-z0-9]+", text)
    name = "".join(w[:1].upper() + w[1:] for w in words) or "Model"
    return "M" + name if name[0].isdigit() else name


def field_name(key: str) -> str:
    """A Python name for a JSON key: `user-agent` -> `user_agent`, `class` -> `class_`."""
    name = re.sub(r"\W", "_", key)
    if not name or name[0].isdigit():
        name = "f_" + name
    if keyword.iskeyword(name) or name in _TAKEN:
        name += "_"
    if name.startswith("_"):
        name = "f" + name
    return name
