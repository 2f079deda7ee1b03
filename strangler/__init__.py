"""Strangler: move a live Flask service to FastAPI one endpoint at a time, behind runtime flags.

    from strangler import create_gateway

    app = create_gateway(flask_app, fastapi_app, "var/strangler.db", sticky="jwt:user")

A request, folder by folder:

    gateway/    dispatch: the admin prefix, then match, decide, call one app, mark the answer
    routing/    no I/O: route templates, the inventory of both apps, the decision, sticky ids
    bridge/     the WSGI bridge serving the Flask app from a thread pool
    flags/      the flag table: its model, stores (memory, SQLite), checked changes, the watcher
    shadow/     shadow traffic: the other backend asked too, the answers compared
    metrics/    what each request adds (Prometheus), request ids, the JSON request log
    rollout/    rollout plans judged step by step under a lease in the store, and the guard
    admin/      the admin HTTP API under /_strangler, and its credential
    cli/        the `strangler` command; server.py builds a gateway from settings.py
    contracts/  the contract runner (`pip install 'strangler[contracts]'`); not imported here

The names below are imported on first use, so `import strangler.pytest_plugin` (which pytest
loads in every project where strangler is installed) stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

# Each public name, and the module it comes from.
_EXPORTS = {
    "WSGIBridge": "strangler.bridge",
    "make_bridge": "strangler.bridge",
    "ConfigError": "strangler.errors",
    "StranglerError": "strangler.errors",
    "AuditEntry": "strangler.flags",
    "Flag": "strangler.flags",
    "FlagService": "strangler.flags",
    "FlagSnapshot": "strangler.flags",
    "FlagStore": "strangler.flags",
    "FlagWatcher": "strangler.flags",
    "MemoryFlagStore": "strangler.flags",
    "SQLiteFlagStore": "strangler.flags",
    "open_store": "strangler.flags",
    "FlagChangeError": "strangler.flags.errors",
    "FlagStoreError": "strangler.flags.errors",
    "InvalidFlag": "strangler.flags.errors",
    "NoLegacyHandler": "strangler.flags.errors",
    "NoMigratedHandler": "strangler.flags.errors",
    "UnknownEndpoint": "strangler.flags.errors",
    "Gateway": "strangler.gateway",
    "create_gateway": "strangler.gateway",
    "Decision": "strangler.routing",
    "Endpoint": "strangler.routing",
    "Inventory": "strangler.routing",
    "Reason": "strangler.routing",
    "decide": "strangler.routing",
    "discover": "strangler.routing",
    "build_gateway": "strangler.server",
    "Settings": "strangler.settings",
    "import_string": "strangler.settings",
    "load_settings": "strangler.settings",
    "override_flags": "strangler.testing",
    "Backend": "strangler.types",
    "Mode": "strangler.types",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # what type checkers and editors see; at run time, __getattr__
    from strangler.bridge import (
        WSGIBridge as WSGIBridge,
    )
    from strangler.bridge import (
        make_bridge as make_bridge,
    )
    from strangler.errors import (
        ConfigError as ConfigError,
    )
    from strangler.errors import (
        StranglerError as StranglerError,
    )
    from strangler.flags import (
        AuditEntry as AuditEntry,
    )
    from strangler.flags import (
        Flag as Flag,
    )
    from strangler.flags import (
        FlagService as FlagService,
    )
    from strangler.flags import (
        FlagSnapshot as FlagSnapshot,
    )
    from strangler.flags import (
        FlagStore as FlagStore,
    )
    from strangler.flags import (
        FlagWatcher as FlagWatcher,
    )
    from strangler.flags import (
        MemoryFlagStore as MemoryFlagStore,
    )
    from strangler.flags import (
        SQLiteFlagStore as SQLiteFlagStore,
    )
    from strangler.flags import (
        open_store as open_store,
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
    from strangler.gateway import (
        Gateway as Gateway,
    )
    from strangler.gateway import (
        create_gateway as create_gateway,
    )
    from strangler.routing import (
        Decision as Decision,
    )
    from strangler.routing import (
        Endpoint as Endpoint,
    )
    from strangler.routing import (
        Inventory as Inventory,
    )
    from strangler.routing import (
        Reason as Reason,
    )
    from strangler.routing import (
        decide as decide,
    )
    from strangler.routing import (
        discover as discover,
    )
    from strangler.server import (
        build_gateway as build_gateway,
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
