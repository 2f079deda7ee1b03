"""What the scaffold tests share: run the command, import the draft it wrote, ask it."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
from click.testing import CliRunner, Result

from strangler.cli.main import main
from strangler.scaffold.routes import Route
from tests.support.servers import REPO

HTTPBIN = str(REPO / "tests" / "test_apps" / "httpbin_pair" / "strangler.toml")
FLASKR = str(REPO / "tests" / "test_apps" / "flaskr" / "strangler.toml")
NOTHING = "strangler.scaffold.capture:NOTHING_MIGRATED"


def strangler(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def scaffold(config: str, out: Path, *args: str) -> Result:
    result = strangler("scaffold", "--config", config, "--out", str(out), *args)
    assert result.exit_code == 0, result.output
    return result


def load(path: Path) -> ModuleType:
    """Imports the draft at `path` under a name of its own (drafts of two tests never mix)."""
    name = f"scaffolded_{abs(hash(str(path)))}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def example_path(route: Route) -> str:
    """A path of `route` its converters accept."""
    values = {
        "int": "1",
        "float": "1.5",
        "path": "a/b",
        "uuid": "00000000-0000-0000-0000-000000000001",
    }
    path = route.rule
    for param in route.params:
        start = path.index("<")
        path = path[:start] + values.get(param.converter, "x") + path[path.index(">", start) + 1 :]
    return path


async def ask(app: Any, method: str, path: str, **kwargs: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await client.request(method, path, **kwargs)
