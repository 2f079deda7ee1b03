"""Strangler: move a live Flask service to FastAPI one endpoint at a time, behind runtime flags.

    from strangler import create_gateway

    app = create_gateway(flask_app, fastapi_app, "var/strangler.db", sticky="jwt:user")

A request, folder by folder:

    gateway/    dispatch: the admin prefix, then match, decide, call one app, mark the answer
    routing/    no I/O: route templates, the inventory of both apps, the decision, sticky ids
    bridge/     the WSGI bridge serving the Flask app from a thread pool
    flags/      the flag table: its model, stores (memory, SQLite), checked changes, the watcher
    admin/      the admin HTTP API under /_strangler, and its credential
    cli/        the `strangler` command; server.py builds a gateway from settings.py
    contracts/  the contract runner (`pip install 'strangler[contracts]'`); not imported here
"""

from strangler.bridge import WSGIBridge, make_bridge
from strangler.errors import ConfigError, StranglerError
from strangler.flags import (
    AuditEntry,
    Flag,
    FlagService,
    FlagSnapshot,
    FlagStore,
    FlagWatcher,
    MemoryFlagStore,
    SQLiteFlagStore,
    open_store,
)
from strangler.flags.errors import (
    FlagChangeError,
    FlagStoreError,
    InvalidFlag,
    NoLegacyHandler,
    NoMigratedHandler,
    UnknownEndpoint,
)
from strangler.gateway import Gateway, create_gateway
from strangler.routing import Decision, Endpoint, Inventory, Reason, decide, discover
from strangler.server import build_gateway
from strangler.settings import Settings, import_string, load_settings
from strangler.testing import override_flags
from strangler.types import Backend, Mode

__version__ = "0.2.0"

__all__ = [
    "AuditEntry",
    "Backend",
    "ConfigError",
    "Decision",
    "Endpoint",
    "Flag",
    "FlagChangeError",
    "FlagService",
    "FlagSnapshot",
    "FlagStore",
    "FlagStoreError",
    "FlagWatcher",
    "Gateway",
    "InvalidFlag",
    "Inventory",
    "MemoryFlagStore",
    "Mode",
    "NoLegacyHandler",
    "NoMigratedHandler",
    "Reason",
    "SQLiteFlagStore",
    "Settings",
    "StranglerError",
    "UnknownEndpoint",
    "WSGIBridge",
    "build_gateway",
    "create_gateway",
    "decide",
    "discover",
    "import_string",
    "load_settings",
    "make_bridge",
    "open_store",
    "override_flags",
]
