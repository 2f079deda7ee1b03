"""The notes both apps serve, kept in memory (the user's shared domain)."""

from __future__ import annotations

NOTES: dict[int, str] = {}


def reset() -> None:
    NOTES.clear()
    NOTES[1] = "buy milk"
