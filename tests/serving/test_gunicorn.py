"""strangler.serving.gunicorn as its users name it (#27): the worker class every recipe gives."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from gunicorn.util import load_class

import strangler.serving.gunicorn
from strangler.serving.gunicorn import Worker

ROOT = Path(__file__).resolve().parents[2]
NAMED = re.compile(r"gunicorn\s+-k\s+(\S+?)[`\s]")
PLACES = [ROOT / "README.md", ROOT / "pyproject.toml", Path(strangler.serving.gunicorn.__file__)]


def named_workers() -> list[tuple[str, str]]:
    """(file, class) for each `gunicorn -k CLASS` written in the places a user reads."""
    return [(p.name, m) for p in PLACES for m in NAMED.findall(p.read_text().replace("\n", " "))]


@pytest.mark.parametrize(("place", "uri"), named_workers())
def test_every_worker_class_a_recipe_names_loads_in_gunicorn(place: str, uri: str) -> None:
    """gunicorn's own loader finds the gateway's worker under each name the recipes give it."""
    assert load_class(uri) is Worker, f"{place}: gunicorn -k {uri}"


def test_the_recipes_name_the_worker() -> None:
    """The README, pyproject.toml and the worker's docstring each name the worker class."""
    assert {place for place, _ in named_workers()} == {p.name for p in PLACES}
