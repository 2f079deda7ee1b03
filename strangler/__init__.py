"""Strangler: move a live Flask service to FastAPI one endpoint at a time, behind runtime flags.

    from strangler import create_gateway

    app = create_gateway(flask_app, fastapi_app, "var/strangler.db", sticky="jwt:user")

The library in layers, bottom up (each imports only those below it; tests/test_layout.py checks):

    types, errors            shared types (Backend, Mode, ASGI aliases) and the root error
    credentials, serving     admin credentials; server limits, the guarded protocol, CPU gauge
    routing, bridge          no I/O: templates, inventory, decision, sticky ids; the WSGI bridge
    flags                    the flag table: model, stores, checked changes, the watcher
    comparison               the comparison core: jsonpath, rules, compare, corpus, ledger, results
    shadow                   shadow traffic: the other backend asked too, the answers compared
    metrics                  what each request adds (Prometheus), the request log, fleet figures
    gateway, rollout         the request path (only serves); rollout plans, the judge, the guard
    settings                 the `[tool.strangler]` table, the environment
    report                   the migration's progress
    admin, dashboard         the admin HTTP API; the operator pages
    assembly                 the one composition root: builds every part from the settings
    cli, contracts, ...      the `strangler` command, the contract runner, the pytest plugin

The names below are imported on first use, so `import strangler.pytest_plugin` (which pytest
loads in every project where strangler is installed) stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

# Each public name, and the module it comes from.
_EXPORTS = {
    "WSGIBridge": "strangler.bridge.bridge",
    "make_bridge": "strangler.bridge.bridge",
    "ConfigError": "strangler.errors",
    "StranglerError": "strangler.errors",
    "AuditEntry": "strangler.flags.model",
    "Flag": "strangler.flags.model",
    "FlagSnapshot": "strangler.flags.model",
    "FlagService": "strangler.flags.service",
    "FlagStore": "strangler.flags.store",
    "open_store": "strangler.flags.store",
    "FlagWatcher": "strangler.flags.watcher",
    "MemoryFlagStore": "strangler.flags.memory",
    "SQLiteFlagStore": "strangler.flags.sqlite",
    "FlagChangeError": "strangler.flags.errors",
    "FlagStoreError": "strangler.flags.errors",
    "InvalidFlag": "strangler.flags.errors",
    "NoLegacyHandler": "strangler.flags.errors",
    "NoMigratedHandler": "strangler.flags.errors",
    "UnknownEndpoint": "strangler.flags.errors",
    "Gateway": "strangler.gateway.dispatch",
    "create_gateway": "strangler.assembly",
    "build_gateway": "strangler.assembly",
    "Runtime": "strangler.assembly",
    "runtime_of": "strangler.assembly",
    "Decision": "strangler.routing.decision",
    "Reason": "strangler.routing.decision",
    "decide": "strangler.routing.decision",
    "Endpoint": "strangler.routing.inventory",
    "Inventory": "strangler.routing.inventory",
    "discover": "strangler.routing.inventory",
    "Settings": "strangler.settings",
    "import_string": "strangler.settings",
    "load_settings": "strangler.settings",
    "override_flags": "strangler.testing",
    "Backend": "strangler.types",
    "Mode": "strangler.types",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # what type checkers and editors see; at run time, __getattr__
    from strangler.assembly import (
        Runtime as Runtime,
    )
    from strangler.assembly import (
        build_gateway as build_gateway,
    )
    from strangler.assembly import (
        create_gateway as create_gateway,
    )
    from strangler.assembly import (
        runtime_of as runtime_of,
    )
    from strangler.bridge.bridge import (
        WSGIBridge as WSGIBridge,
    )
    from strangler.bridge.bridge import (
        make_bridge as make_bridge,
    )
    from strangler.errors import (
        ConfigError as ConfigError,
    )
    from strangler.errors import (
        StranglerError as StranglerError,
    )
    from strangler.flags.errors import (
        FlagChangeError as FlagChangeError,
    )
    from strangler.flags.errors import (
        FlagStoreError as FlagStoreError,
    )
    from strangler.flags.errors import (
        InvalidFlag as InvalidFlag,
    )
    from strangler.flags.errors import (
        NoLegacyHandler as NoLegacyHandler,
    )
    from strangler.flags.errors import (
        NoMigratedHandler as NoMigratedHandler,
    )
    from strangler.flags.errors import (
        UnknownEndpoint as UnknownEndpoint,
    )
    from strangler.flags.memory import (
        MemoryFlagStore as MemoryFlagStore,
    )
    from strangler.flags.model import (
        AuditEntry as AuditEntry,
    )
    from strangler.flags.model import (
        Flag as Flag,
    )
    from strangler.flags.model import (
        FlagSnapshot as FlagSnapshot,
    )
    from strangler.flags.service import (
        FlagService as FlagService,
    )
    from strangler.flags.sqlite import (
        SQLiteFlagStore as SQLiteFlagStore,
    )
    from strangler.flags.store import (
        FlagStore as FlagStore,
    )
    from strangler.flags.store import (
        open_store as open_store,
    )
    from strangler.flags.watcher import (
        FlagWatcher as FlagWatcher,
    )
    from strangler.gateway.dispatch import (
        Gateway as Gateway,
    )
    from strangler.routing.decision import (
        Decision as Decision,
    )
    from strangler.routing.decision import (
        Reason as Reason,
    )
    from strangler.routing.decision import (
        decide as decide,
    )
    from strangler.routing.inventory import (
        Endpoint as Endpoint,
    )
    from strangler.routing.inventory import (
        Inventory as Inventory,
    )
    from strangler.routing.inventory import (
        discover as discover,
    )
    from strangler.settings import (
        Settings as Settings,
    )
    from strangler.settings import (
        import_string as import_string,
    )
    from strangler.settings import (
        load_settings as load_settings,
    )
    from strangler.testing import (
        override_flags as override_flags,
    )
    from strangler.types import (
        Backend as Backend,
    )
    from strangler.types import (
        Mode as Mode,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'strangler' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once found, an ordinary attribute
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
