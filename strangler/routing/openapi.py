"""One OpenAPI document for the whole service while it is being migrated: the port's own
operations, and the endpoints only legacy serves (read from its url_map, path parameters typed by
their converters), each marked with the backend that serves it (`x-strangler-backend`). Client
teams see one API, whichever app answers each part of it.

    strangler openapi -o openapi.json      GET /_strangler/service/openapi.json
"""

from __future__ import annotations

import copy
import re
from typing import Any

from strangler.routing.inventory import Endpoint, Inventory, unwrapped
from strangler.routing.templates import (
    flask_params,
    normalise_template,
    route_key,
    template_params,
    template_shape,
)
from strangler.types import Backend

# Flask's converters as OpenAPI schemas.
_SCHEMAS: dict[str, dict[str, str]] = {
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "uuid": {"type": "string", "format": "uuid"},
    "path": {"type": "string"},
    "string": {"type": "string"},
    "default": {"type": "string"},
    "any": {"type": "string"},
}


def service_openapi(legacy: Any, migrated: Any, inventory: Inventory) -> dict[str, Any]:
    """The merged document (a new dict: the port's own is not changed)."""
    openapi = getattr(migrated, "openapi", None)
    spec: dict[str, Any] = copy.deepcopy(openapi()) if callable(openapi) else {}
    spec.setdefault("openapi", "3.1.0")
    info = spec.setdefault("info", {"title": "service", "version": "0"})
    info["description"] = (
        (info.get("description") or "")
        + "\n\nDuring the migration: operations marked `x-strangler-backend: legacy` are served"
        " by the legacy app only and are described by their route alone."
    ).strip()
    paths: dict[str, Any] = spec.setdefault("paths", {})
    by_shape = {template_shape(path): path for path in paths}  # {id} and {item_id}: one path
    ids = {
        op.get("operationId")
        for ops in paths.values()
        for op in ops.values()
        if isinstance(op, dict)
    }
    for path, operations in paths.items():
        for method, operation in operations.items():
            if isinstance(operation, dict):
                endpoint = _endpoint(inventory, method, path)
                if endpoint is not None:
                    operation["x-strangler-backend"] = endpoint.served_by
    for rule in _legacy_rules(legacy):
        template = normalise_template(rule.rule)
        for method in sorted(rule.methods or ()):
            endpoint = _endpoint(inventory, method, template)
            if endpoint is None or Backend.MIGRATED in endpoint.backends:
                continue  # HEAD/OPTIONS, or the port describes it
            openapi_path = re.sub(r"{(\w+):path}", r"{\1}", template)
            same = by_shape.setdefault(template_shape(openapi_path), openapi_path)
            operation = _legacy_operation(method, rule.rule, template_params(same))
            while operation["operationId"] in ids:  # /a-b and /a_b: one id each
                operation["operationId"] += "_"
            ids.add(operation["operationId"])
            paths.setdefault(same, {})[method.lower()] = operation
    return spec


def _endpoint(inventory: Inventory, method: str, path: str) -> Endpoint | None:
    """The endpoint of an operation, whatever its parameters are called."""
    try:
        return inventory.get(route_key(method.upper(), normalise_template(path)))
    except ValueError:
        return None


def _legacy_rules(legacy: Any) -> list[Any]:
    url_map = getattr(unwrapped(legacy), "url_map", None)
    return list(url_map.iter_rules()) if url_map is not None else []


def _legacy_operation(method: str, rule: str, names: list[str]) -> dict[str, Any]:
    """The operation of a legacy rule, its path parameters named as the path it goes under
    (`names`: the port may call legacy's `id` `item_id`)."""
    parameters = [
        {
            "name": names[index] if index < len(names) else name,
            "in": "path",
            "required": True,
            "schema": dict(_SCHEMAS.get(converter, {"type": "string"})),
        }
        for index, (name, converter) in enumerate(flask_params(rule))
    ]
    operation: dict[str, Any] = {
        "summary": f"{method} {rule} (legacy)",
        # One view may serve several rules: the rule makes the id unique.
        "operationId": f"legacy_{method.lower()}_{re.sub(r'[^A-Za-z0-9]+', '_', rule).strip('_')}",
        "tags": ["legacy"],
        "x-strangler-backend": "legacy",
        "responses": {"default": {"description": "Served by the legacy app; not described."}},
    }
    if parameters:
        operation["parameters"] = parameters
    return operation
