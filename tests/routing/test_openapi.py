"""One OpenAPI for the service during the migration (#16)."""

from __future__ import annotations

import json
from pathlib import Path

import httpbin
import httpx
from click.testing import CliRunner

from strangler.assembly import create_gateway
from strangler.cli.main import main
from strangler.routing.inventory import discover
from strangler.routing.openapi import service_openapi
from tests.test_apps.httpbin_pair.port import app as port


def test_httpbin_s_own_routes_join_the_port_s_operations() -> None:
    """An app nobody here wrote: its routes only legacy serves are added with typed path
    parameters and marked legacy; the port's operation is kept as the port describes it."""
    spec = service_openapi(httpbin.app, port, discover(httpbin.app, port))
    paths = spec["paths"]
    assert paths["/uuid"]["get"]["x-strangler-backend"] == "both"
    assert "responses" in paths["/uuid"]["get"]
    assert "legacy" not in paths["/uuid"]["get"].get("tags", [])
    status = paths["/status/{codes}"]["get"]
    assert status["x-strangler-backend"] == "legacy"
    assert status["parameters"] == [
        {"name": "codes", "in": "path", "required": True, "schema": {"type": "string"}}
    ]
    n = paths["/bytes/{n}"]["get"]["parameters"][0]
    assert n["schema"] == {"type": "integer"}
    assert "head" not in paths["/get"]
    assert "options" not in paths["/get"]
    operation_ids = [op["operationId"] for ops in paths.values() for op in ops.values()]
    assert len(operation_ids) == len(set(operation_ids))
    assert len(paths) > 40


def test_served_under_the_admin_prefix_and_written_by_the_cli(tmp_path: Path) -> None:
    gateway = create_gateway(httpbin.app, port, "memory:", admin_token="t")

    async def fetch() -> dict[str, object]:
        transport = httpx.ASGITransport(app=gateway)
        async with httpx.AsyncClient(transport=transport, base_url="http://g") as c:
            refused = await c.get("/_strangler/service/openapi.json")
            assert refused.status_code == 401
            answer = await c.get(
                "/_strangler/service/openapi.json", headers={"Authorization": "Bearer t"}
            )
            assert answer.status_code == 200
            data: dict[str, object] = answer.json()
            return data

    import asyncio

    served = asyncio.run(fetch())
    gateway.close()
    assert "/status/{codes}" in served["paths"]  # type: ignore[operator]
    config = tmp_path / "strangler.toml"
    config.write_text(
        'legacy = "httpbin:app"\nmigrated = "tests.test_apps.httpbin_pair.port:app"\n'
    )
    out = tmp_path / "openapi.json"
    result = CliRunner().invoke(main, ["openapi", "-o", str(out), "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["paths"].keys() == served["paths"].keys()  # type: ignore[attr-defined]


def test_parameters_named_otherwise_and_look_alike_routes_stay_one_valid_document() -> None:
    """Legacy's `<int:id>` and the port's `{item_id}` are one path; `/a-b` and `/a_b` get an
    id each; the port's operation with another parameter name is still marked."""
    from fastapi import FastAPI
    from flask import Flask

    legacy = Flask(__name__)
    legacy.add_url_rule("/items/<int:id>", "get_item", lambda id: "", methods=["GET"])
    legacy.add_url_rule("/items/<int:id>", "drop_item", lambda id: "", methods=["DELETE"])
    legacy.add_url_rule("/a-b", "dash", lambda: "")
    legacy.add_url_rule("/a_b", "underscore", lambda: "")
    migrated = FastAPI()

    @migrated.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    spec = service_openapi(legacy, migrated, discover(legacy, migrated))
    paths = spec["paths"]
    assert "/items/{id}" not in paths  # no second path that differs only by its names
    assert paths["/items/{item_id}"]["get"]["x-strangler-backend"] == "both"
    drop = paths["/items/{item_id}"]["delete"]
    assert drop["x-strangler-backend"] == "legacy"
    assert drop["parameters"][0]["name"] == "item_id"
    assert drop["parameters"][0]["schema"] == {"type": "integer"}
    ids = [op["operationId"] for ops in paths.values() for op in ops.values()]
    assert len(ids) == len(set(ids))
