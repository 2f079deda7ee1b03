"""State both apps of the pair share, as the worked example's apps share their cache."""

from __future__ import annotations

import secrets

sessions: set[str] = set()
items: dict[int, str] = {}
visits = [0]


def login() -> str:
    token = secrets.token_hex(8)
    sessions.add(token)
    return token


def add_item(name: str) -> int:
    item_id = len(items) + 1
    items[item_id] = name
    return item_id


def find(item_id: str) -> int | None:
    """The item id in a path segment, if it names an item."""
    if not (item_id.isascii() and item_id.isdigit()) or int(item_id) not in items:
        return None
    return int(item_id)


def reset() -> None:
    """The contract reset hook (`contract_reset` in strangler.toml): fresh state."""
    sessions.clear()
    items.clear()
    visits[0] = 0
