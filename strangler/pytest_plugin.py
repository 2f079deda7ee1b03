"""The `strangler` pytest plugin: a project's contract corpus, collected as tests.

Registered through the `pytest11` entry point, so installing strangler is enough: pytest collects
the YAML files of the corpus folder (`contracts` in the project's strangler.toml or
[tool.strangler]) as one test per case and one per fuzzed endpoint. Any other YAML file is left
alone, and this module imports nothing heavy until it finds a corpus file, so the plugin costs
nothing in projects without one. Turn it off with `-p no:strangler`.

The items themselves live in strangler/contracts/pytest_items.py (they need the `contracts`
extra).
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from strangler.settings import (
    Settings,
    find_config,
    load_settings,
    settings_from_env,
    settings_table,
)

_ITEMS = "strangler.contracts.pytest_items"


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """Collects a corpus file: a YAML file in the configured `contracts` folder (not the ledger,
    nor a file whose name starts with `_`)."""
    if file_path.suffix not in (".yaml", ".yml") or file_path.name.startswith("_"):
        return None
    settings = corpus_settings(file_path)
    if settings is None or file_path.resolve() == settings.ledger_path.resolve():
        return None
    try:
        from strangler.contracts.pytest_items import ContractFile
    except ImportError as exc:
        if exc.name is not None and exc.name.startswith("strangler"):
            raise  # our own bug, not a missing extra
        missing = (
            f"{file_path.name} is a strangler contract corpus file, and running it needs the"
            f" contracts extra ({exc.name} is not installed): pip install 'strangler[contracts]'"
            " (or turn the plugin off with -p no:strangler)"
        )
        return NeedsExtra.from_parent(parent, path=file_path, missing=missing)
    collector: pytest.Collector = ContractFile.from_parent(parent, path=file_path)
    return collector


class NeedsExtra(pytest.File):
    """A corpus file that cannot run here: one failing item says what to install, and the
    project's other tests run as usual."""

    def __init__(self, *, missing: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.missing = missing

    def collect(self) -> list[pytest.Item]:
        return [MissingExtra.from_parent(self, name="needs strangler[contracts]")]


class MissingExtra(pytest.Item):
    def runtest(self) -> None:
        assert isinstance(self.parent, NeedsExtra)
        pytest.fail(self.parent.missing, pytrace=False)


def corpus_settings(path: Path) -> Settings | None:
    """The settings whose corpus folder holds `path`, or None when it is in no corpus."""
    config = _config_for(path.parent.resolve())
    if config is None:
        return None
    table = {**settings_table(config), **settings_from_env(os.environ)}  # as load_settings
    folder = config.parent.resolve() / str(table.get("contracts", Settings.contracts))
    if not path.resolve().is_relative_to(folder.resolve()):
        return None
    return load_settings(config)  # a broken config is a collection error naming the fix


@functools.lru_cache(maxsize=256)
def _config_for(folder: Path) -> Path | None:
    return find_config(folder)


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """Closes the contract sessions after the last contract item in a row (see pytest_items)."""
    items = sys.modules.get(_ITEMS)
    if items is not None:
        items.after_item(item, nextitem)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Closes the contract sessions (apps' lifespans, the loop thread) if a run stopped early."""
    items = sys.modules.get(_ITEMS)
    if items is not None:
        items.close_sessions(config)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Says once, at the end, what the contract items could not do (no reset hook)."""
    items = sys.modules.get(_ITEMS)
    for note in items.summary(terminalreporter.config) if items is not None else []:
        terminalreporter.write_line(f"strangler: {note}", yellow=True)
