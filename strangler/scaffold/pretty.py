"""Python source for the draft, laid out as ruff formats it, so a draft passes `ruff format
--check` and `ruff check` as written (#26: single quotes, lines of 300 characters).

Strings take double quotes unless that needs more escapes (ruff's rule); a value too long for
its line is split as ruff splits it: a dict one item a line with a trailing comma, a string in
parentheses as implicitly joined parts of at most a line each, an import in parentheses one name
a line. strangler.scaffold.tidy then runs ruff itself where it is installed, with the project's
settings (its import order, above all, depends on them).
"""

from __future__ import annotations

from collections.abc import Sequence

LINE = 100  # the line length drafts are laid out for (the project's; ruff's default is 88)


class Name(str):
    """Source text written as is (a model's class name in `responses=`), not as a string."""


def literal(value: object) -> str:
    """`value` (str, number, bool, None, or a list or dict of them) as one line of source."""
    if isinstance(value, Name):
        return str(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    return repr(value)


def _string(text: str) -> str:
    # Double quotes unless the text holds more of them than of single quotes, as ruff chooses.
    quote = "'" if text.count('"') > text.count("'") else '"'
    body = "".join("\\" + c if c == quote else c if c in "'\"" else repr(c)[1:-1] for c in text)
    return quote + body + quote


def layout(value: object, indent: int, before: str = "", after: str = "") -> list[str]:
    """`before` + `value` + `after` as lines indented by `indent` spaces: one line if it fits,
    else split as ruff splits it."""
    pad = " " * indent
    flat = pad + before + literal(value) + after
    if len(flat) <= LINE:
        return [flat]
    if isinstance(value, dict) and value:
        lines = [pad + before + "{"]
        for key, item in value.items():
            lines += layout(item, indent + 4, literal(key) + ": ", ",")
        return [*lines, pad + "}" + after]
    if isinstance(value, str) and not isinstance(value, Name):
        parts = _parts(value, LINE - indent - 4)
        if len(parts) > 1:
            lines = [pad + before + "("]
            lines += [pad + "    " + literal(part) for part in parts]
            return [*lines, pad + ")" + after]
    return [flat]  # a long name or number: nothing to split


def _parts(text: str, width: int) -> list[str]:
    """`text` cut after its line breaks, and where a piece is still too wide for `width`
    columns as a literal, before a space (or anywhere, if it has none)."""
    parts: list[str] = []
    for line in text.splitlines(keepends=True):
        while len(literal(line)) > width:
            cut = _cut(line, width)
            parts.append(line[:cut])
            line = line[cut:]
        if line:
            parts.append(line)
    return parts


def _cut(text: str, width: int) -> int:
    """The longest head of `text` whose literal fits in `width`, ending before a space where
    one is (at least one character, so the split always moves on)."""
    end = 1
    while end < len(text) and len(literal(text[: end + 1])) <= width:
        end += 1
    space = text.rfind(" ", 1, end)
    return space if space > end // 2 else end


def import_line(module: str, names: Sequence[str]) -> str:
    """`from module import a, b`, in parentheses one name a line if it is too long."""
    line = f"from {module} import {', '.join(names)}\n"
    if len(line) - 1 <= LINE:
        return line
    return f"from {module} import (\n" + "".join(f"    {n},\n" for n in names) + ")\n"
