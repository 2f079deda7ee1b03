"""The `strangler` command group: commands loaded on use, and those of an extra that is not
installed standing in with what to install."""

from __future__ import annotations

import importlib.metadata

import pytest
from click.testing import CliRunner

from strangler.cli.main import main

_distribution = importlib.metadata.distribution


def without(monkeypatch: pytest.MonkeyPatch, missing: str) -> None:
    """Makes the installed distribution `missing` look absent to importlib.metadata."""

    def distribution(name: str) -> importlib.metadata.Distribution:
        if name.lower() == missing:
            raise importlib.metadata.PackageNotFoundError(name)
        return _distribution(name)

    monkeypatch.setattr(importlib.metadata, "distribution", distribution)


def test_a_command_whose_extra_is_missing_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`strangler contract run` without the contracts extra names it, before any progress."""
    without(monkeypatch, "hypothesis")
    result = CliRunner().invoke(main, ["contract", "run"])
    assert result.exit_code == 1, result.output
    assert "(hypothesis is not installed): pip install 'strangler[contracts]'" in result.output
    assert "opening" not in result.output


def test_the_help_marks_the_commands_whose_extra_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """--help lists the commands of a missing extra with what they need, the others as usual."""
    without(monkeypatch, "hypothesis")
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0, result.output
    assert "contract   (needs strangler[contracts])" in result.output
    assert "scaffold   (needs strangler[contracts])" in result.output
    assert "flags      (needs" not in result.output


def test_with_every_extra_installed_the_commands_are_the_real_ones() -> None:
    """Here (every extra installed) no command stands in for a missing extra."""
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0, result.output
    assert "(needs strangler[" not in result.output
