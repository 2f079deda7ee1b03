"""Settings: where they are read from, in which order, and the errors that name the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from strangler.errors import ConfigError
from strangler.settings import load_settings

APPS = 'legacy = "a:app"\nmigrated = "b:app"\n'


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("strangler.toml", APPS + 'flags = "f.db"\n'),
        ("strangler.toml", "[tool.strangler]\n" + APPS + 'flags = "f.db"\n'),
        (
            "pyproject.toml",
            '[project]\nname = "x"\n\n[tool.strangler]\n' + APPS + 'flags = "f.db"\n',
        ),
    ],
)
def test_the_same_block_works_in_either_file(tmp_path: Path, name: str, text: str) -> None:
    """Top-level keys or a [tool.strangler] table in strangler.toml, or the table in pyproject."""
    (tmp_path / name).write_text(text)
    settings = load_settings(tmp_path / name)
    assert (settings.legacy, settings.migrated, settings.flags) == ("a:app", "b:app", "f.db")
    assert settings.path(settings.flags) == str(tmp_path / "f.db")


def test_environment_wins_over_the_file_and_options_over_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """STRANGLER_<NAME> overrides the file, typed as the setting; an option overrides it."""
    (tmp_path / "strangler.toml").write_text(APPS + 'flags = "file.db"\nlegacy_threads = 2\n')
    monkeypatch.setenv("STRANGLER_FLAGS", "env.db")
    monkeypatch.setenv("STRANGLER_LEGACY_THREADS", "16")
    monkeypatch.setenv("STRANGLER_FREEZE_GC", "no")
    settings = load_settings(tmp_path / "strangler.toml")
    assert (settings.flags, settings.legacy_threads, settings.freeze_gc) == ("env.db", 16, False)
    assert load_settings(tmp_path / "strangler.toml", flags="cli.db").flags == "cli.db"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "STRANGLER_LEGACY_THREADS",
            "many",
            "STRANGLER_LEGACY_THREADS=.many. is not a valid setting",
        ),
        ("STRANGLER_FREEZE_GC", "maybe", "STRANGLER_FREEZE_GC='maybe' is not a valid bool"),
    ],
)
def test_a_bad_environment_value_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    """A malformed variable is refused, naming the variable and the type it needs."""
    (tmp_path / "strangler.toml").write_text(APPS)
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=message):
        load_settings(tmp_path / "strangler.toml")


def test_unknown_keys_are_named(tmp_path: Path) -> None:
    """A misspelt setting is refused with the list of known ones."""
    (tmp_path / "strangler.toml").write_text(APPS + 'flgas = "x"\n')
    with pytest.raises(ConfigError, match="unknown setting"):
        load_settings(tmp_path / "strangler.toml")
