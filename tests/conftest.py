"""Fixtures for the whole suite."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def no_strangler_settings_from_the_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    """STRANGLER_<NAME> variables override settings: one exported in the developer's shell
    (STRANGLER_FLAGS, say) must neither change a test nor let a test write to that store."""
    for name in list(os.environ):
        if name.startswith("STRANGLER_"):
            monkeypatch.delenv(name)
