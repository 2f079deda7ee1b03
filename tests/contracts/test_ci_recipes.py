"""The CI recipes in docs/ci/ parse, and every `strangler` command they run exists with the
options they give it (#24)."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from strangler.cli.main import main
from tests.support.servers import REPO

RECIPES = sorted((REPO / "docs" / "ci").glob("*.yml"))


def shell_lines(document: Any) -> list[str]:
    """Every shell line of a workflow (`run:`) or a job (`script:`)."""
    if isinstance(document, list):
        return [line for item in document for line in shell_lines(item)]
    if not isinstance(document, dict):
        return []
    lines = []
    for key, value in document.items():
        if key == "run" and isinstance(value, str):
            lines.append(value)
        elif key == "script" and isinstance(value, list):
            lines += [line for line in value if isinstance(line, str)]
        else:
            lines += shell_lines(value)
    return lines


def commands(document: Any) -> list[list[str]]:
    """The `strangler ...` command lines, split as a shell would."""
    return [shlex.split(line) for line in shell_lines(document) if line.startswith("strangler ")]


def options(argv: list[str]) -> tuple[list[str], list[str]]:
    """The subcommand path (words before the first option) and the long options used."""
    path = []
    for word in argv[1:]:
        if word.startswith("-"):
            break
        path.append(word)
    return path, [w.split("=")[0] for w in argv if w.startswith("--")]


def test_there_is_a_recipe_for_github_and_gitlab() -> None:
    """docs/ci holds both recipes the README points to."""
    assert [p.name for p in RECIPES] == ["github-actions.yml", "gitlab-ci.yml"]


@pytest.mark.parametrize("recipe", RECIPES, ids=[p.name for p in RECIPES])
def test_a_recipe_runs_the_contract_run_with_options_that_exist(recipe: Path) -> None:
    """Each recipe parses, runs `strangler contract run` with a budget and a JUnit report, and
    every option it passes is one `strangler contract run --help` lists."""
    document = yaml.safe_load(recipe.read_text(encoding="utf-8"))
    found = commands(document)
    assert found, f"{recipe.name} runs no strangler command"
    helps: dict[tuple[str, ...], str] = {}
    for argv in found:
        path, used = options(argv)
        key = tuple(path)
        if key not in helps:
            result = CliRunner().invoke(main, [*path, "--help"])
            assert result.exit_code == 0, result.output
            helps[key] = result.output
        for option in used:
            assert option in helps[key].split(), f"{recipe.name}: {option} is not an option"
    assert any(path == ["contract", "run"] for path, _ in map(options, found))
    used = {o for argv in found for o in options(argv)[1]}
    assert {"--max-time", "--junit"} <= used


def test_a_misspelt_option_is_caught() -> None:
    """The check fails on an option the CLI does not have."""
    help_text = CliRunner().invoke(main, ["contract", "run", "--help"]).output
    assert "--max-time" in help_text.split()
    assert "--max-minutes" not in help_text.split()
