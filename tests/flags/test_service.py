"""Flag changes checked before they are written (strangler.flags.service): what the admin API
and the CLI call."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from strangler.flags.errors import InvalidFlag
from strangler.flags.memory import MemoryFlagStore
from strangler.flags.model import MAX_TEXT
from strangler.flags.service import FlagEntry, FlagService
from tests.flags.conftest import pair_inventory

LONG = "x" * (MAX_TEXT + 1)


@pytest.fixture
def service() -> FlagService:
    return FlagService(MemoryFlagStore(), pair_inventory())


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s.set("GET /items/{item_id}", "migrated", actor="ann", reason=LONG),
        lambda s: s.set("GET /items/{item_id}", "migrated", actor=LONG, reason="go"),
        lambda s: s.shadow("GET /items/{item_id}", 10, actor="ann", reason=LONG),
        lambda s: s.shadow(
            "GET /items/{item_id}", 10, side_effect_free=LONG, actor="ann", reason="go"
        ),
        lambda s: s.apply({"GET /items/{item_id}": FlagEntry("migrated")}, actor=LONG, reason="r"),
    ],
    ids=["set-reason", "set-actor", "shadow-reason", "shadow-declaration", "apply-actor"],
)
def test_a_change_with_text_over_the_limit_is_refused_naming_it(
    service: FlagService, change: Callable[[FlagService], object]
) -> None:
    """Every way of changing a flag refuses a text over MAX_TEXT, says so, and writes nothing."""
    with pytest.raises(InvalidFlag, match="keep it to 1,000"):
        change(service)
    assert service.store.version() == 0
