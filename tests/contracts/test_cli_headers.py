"""`strangler contract run` compares every answer header by default (#24): on the CORS pair
(tests/test_apps/cors_pair), ports whose bodies and statuses are right but whose headers slip
fail the run, each difference named by its header."""

from __future__ import annotations

import pytest
from click.testing import CliRunner, Result

from strangler.cli.main import main
from tests.contracts.conftest import REPO

CONFIG = str(REPO / "tests" / "test_apps" / "cors_pair" / "strangler.toml")
PORTS = "tests.test_apps.cors_pair.news_migrated"


def contract_run(*args: str) -> Result:
    """Runs `strangler contract run --config CONFIG ARGS` in process."""
    return CliRunner().invoke(
        main, ["contract", "run", "--config", CONFIG, *args], catch_exceptions=False
    )


def test_the_port_with_the_same_cors_headers_passes() -> None:
    """Starlette's CORSMiddleware, set as legacy's hand-made CORS, passes with every header
    compared: nothing volatile (request ids, lengths) is taken for a difference."""
    result = contract_run()
    assert result.exit_code == 0, result.output
    assert "5 passed, 0 failed" in result.output


def test_a_port_that_forgets_cors_fails_at_each_cors_header() -> None:
    """The port without CORS answers the same bodies; the browser front end could not read
    them, and the run fails naming Access-Control-Allow-Origin and Vary."""
    result = contract_run("--migrated", f"{PORTS}:forgets_cors")
    assert result.exit_code == 1, result.output
    assert "FAIL articles.yaml::articles-from-the-front-end" in result.output
    assert "header:access-control-allow-origin" in result.output
    assert "header:vary" in result.output
    assert "0 passed, 5 failed" in result.output  # Vary: Origin is missing even without Origin


def test_a_port_that_adds_a_cache_control_fails_where_it_adds_it() -> None:
    """A Cache-Control legacy never sent (caches would keep the list for 5 minutes) fails the
    cases of the list, and only those."""
    result = contract_run("--migrated", f"{PORTS}:adds_cache")
    assert result.exit_code == 1, result.output
    assert 'header:cache-control  (absent)  "max-age=300, public"' in result.output
    assert "2 passed, 3 failed" in result.output


@pytest.mark.parametrize("volatile", ["content-length", '["content-length", "cache-control"]'])
def test_volatile_headers_replace_the_default_list(
    monkeypatch: pytest.MonkeyPatch, volatile: str
) -> None:
    """`volatile_headers` names the headers never compared: Cache-Control there lets the port
    that adds it pass; the gateway's own request id stays out either way."""
    monkeypatch.setenv("STRANGLER_VOLATILE_HEADERS", volatile)
    result = contract_run("--migrated", f"{PORTS}:adds_cache")
    assert result.exit_code == (0 if "cache" in volatile else 1), result.output
    assert "x-request-id" not in result.output
