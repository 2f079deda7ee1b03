"""Settings: the `[tool.strangler]` table of pyproject.toml (or a strangler.toml), then flags.

    [tool.strangler]
    legacy = "legacy.app:app"        # the Flask (WSGI) app, as MODULE:ATTR
    migrated = "migrated.app:app"    # the FastAPI (ASGI) app, as MODULE:ATTR
    flags = "var/strangler.db"       # SQLite file (relative to this file), or "memory:"
    seed = "flags.yaml"              # flags loaded into an empty store at `strangler serve`
    sticky = "jwt:user"              # canary identity: jwt:CLAIM, header:NAME, cookie:NAME, client
    backend_header = "X-Strangler-Backend"   # "" to leave it out
    admin_prefix = "/_strangler"
    legacy_threads = "auto"          # 4 to 64 threads, more while they wait on I/O; or a number
    freeze_gc = true                 # gc.freeze() after startup: shorter GC pauses (create_gateway)
    contracts = "contract_tests"     # the contract corpus (YAML files of cases)
    ledger = "contract_tests/ledger.yaml"    # accepted differences (default: in `contracts`)
    contract_reset = "migrated.domain:prediction_cache.clear"  # fresh state: MODULE:ATTR
                                     # called before each contract scenario, on each side
    contract_results = "var/contract-results.json"   # the last whole contract run, for reports
    legacy_quiet_days = 7            # "legacy can be deleted" after this long all on migrated
    fuzz_examples = 300              # generated requests per endpoint
    fuzz_seed = 0                    # the same seed fuzzes the same requests
    max_body = 10485760              # and the other limits: see strangler/serving/limits.py
    body_limits = {"POST /upload" = 1048576}   # per endpoint: a larger body is answered 413
    shadow_timeout = 5.0             # and shadow_concurrency, shadow_queue, shadow_max_body:
    shadow_redact = ["$.token"]      # what shadowing may cost, and the JSON paths it never keeps
    metrics = true                   # Prometheus metrics at /_strangler/metrics (and for rollouts)
    metrics_public = false           # true: scraped without the admin credential
    metrics_port = 0                 # N: `strangler serve` also serves them on a port of their own
    metrics_host = "127.0.0.1"       # ...on this address
    request_log = ""                 # "stdout", "stderr" or a file: one JSON line per request
    request_id_header = "X-Request-ID"   # kept when sent, made when not, passed on, returned
    dashboard_hosts = ["admin.example.com"]   # the dashboard's own host names (default: loopback)
    guard = ["POST /predict"]        # endpoints sent back to legacy when migrated fails ("*": all)
    guard_max_error_rate = 5.0       # ...when over this % of its migrated answers are 5xx
    guard_window = 60.0              # over this many seconds
    guard_min_requests = 20          # with at least this many migrated requests in it

Every setting can also come from the environment as STRANGLER_<NAME> (`STRANGLER_FLAGS=/srv/f.db`,
`STRANGLER_LEGACY_THREADS=16`), which wins over the file; command-line options win over both.
Admin credentials are never read from a file: they come from STRANGLER_ADMIN_TOKENS (named, with
a role each) and STRANGLER_ADMIN_TOKEN (one shared credential).
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from strangler.errors import ConfigError
from strangler.flags.watcher import DEFAULT_INTERVAL
from strangler.rollout.guard import GuardRule
from strangler.serving.limits import Limits
from strangler.shadow.redact import DEFAULT_PATHS
from strangler.shadow.tap import ShadowLimits
from strangler.types import LOOPBACK

TOKEN_ENV = "STRANGLER_ADMIN_TOKEN"
TOKENS_ENV = "STRANGLER_ADMIN_TOKENS"
DEV_ENV = "STRANGLER_DEV"


@dataclasses.dataclass
class Settings:
    legacy: str
    migrated: str
    flags: str = "var/strangler.db"
    seed: str | None = None
    sticky: str = "client"
    backend_header: str | None = "X-Strangler-Backend"
    admin_prefix: str = "/_strangler"
    legacy_threads: int | None = None  # None ("auto"): the pool adapts (strangler.bridge.pool)
    poll_interval: float = DEFAULT_INTERVAL
    freeze_gc: bool = True  # see create_gateway(); the server owns its process
    contracts: str = "contract_tests"
    ledger: str | None = None  # None: ledger.yaml in the `contracts` folder
    contract_reset: str | None = None
    contract_results: str = "var/contract-results.json"  # the last whole run, for the report
    legacy_quiet_days: float = 7.0  # "legacy can be deleted": this long all on migrated
    fuzz_examples: int = 300
    fuzz_seed: int = 0
    # Limits (strangler.serving.limits): sizes, times and counts, with their safe defaults.
    max_header_bytes: int = Limits.max_header_bytes
    max_headers: int = Limits.max_headers
    header_timeout: float = Limits.header_timeout
    body_timeout: float = Limits.body_timeout
    keep_alive_timeout: int = Limits.keep_alive_timeout
    max_connections: int = Limits.max_connections
    max_body: int = Limits.max_body
    body_limits: dict[str, int] = dataclasses.field(default_factory=dict)  # per endpoint
    legacy_queue: int = Limits.legacy_queue
    migrated_concurrency: int = Limits.migrated_concurrency
    # Shadow traffic (strangler.shadow): what it may cost, and what it never keeps.
    shadow_concurrency: int = ShadowLimits.concurrency
    shadow_queue: int = ShadowLimits.queue
    shadow_timeout: float = ShadowLimits.timeout
    shadow_max_body: int = ShadowLimits.max_body
    shadow_max_cpu: float = ShadowLimits.max_cpu
    shadow_redact: list[str] = dataclasses.field(default_factory=lambda: list(DEFAULT_PATHS))
    # Metrics, request logs and request ids (strangler.metrics).
    metrics: bool = True
    metrics_public: bool = False
    metrics_port: int = 0
    metrics_host: str = "127.0.0.1"
    request_log: str = ""
    request_id_header: str | None = "X-Request-ID"
    # The guard (strangler.rollout.guard): endpoints on migrated or canary that go back to legacy
    # by themselves when their migrated answers fail.
    guard: list[str] = dataclasses.field(default_factory=list)
    # The host names the dashboard answers on (its own, never the apps'): strangler.dashboard.
    dashboard_hosts: list[str] = dataclasses.field(default_factory=lambda: list(LOOPBACK))
    guard_max_error_rate: float = GuardRule.max_error_rate
    guard_window: float = GuardRule.window
    guard_min_requests: int = GuardRule.min_requests
    root: str = "."  # the folder the settings came from: relative paths and imports start there

    def path(self, value: str) -> str:
        """A path setting, resolved against the settings' folder (`memory:` stays as it is)."""
        if value in ("memory:", ":memory:") or "://" in value:  # a store's URL stays as it is
            return value
        return str(Path(self.root, value))

    @property
    def limits(self) -> Limits:
        return Limits(**{f.name: getattr(self, f.name) for f in dataclasses.fields(Limits)})

    @property
    def contracts_path(self) -> Path:
        """The contract corpus folder."""
        return Path(self.path(self.contracts))

    @property
    def contract_results_path(self) -> Path:
        return Path(self.path(self.contract_results))

    @property
    def ledger_path(self) -> Path:
        """The ledger of accepted differences (default: ledger.yaml in the corpus folder)."""
        if self.ledger:
            return Path(self.path(self.ledger))
        return self.contracts_path / "ledger.yaml"

    @property
    def admin_token(self) -> str | None:
        return os.environ.get(TOKEN_ENV) or None

    @property
    def admin_tokens(self) -> str | None:
        """Named admin credentials, `name:role:token,...` (see strangler.credentials)."""
        return os.environ.get(TOKENS_ENV) or None

    @property
    def dev_mode(self) -> bool:
        return os.environ.get(DEV_ENV, "").lower() in ("1", "true", "yes")


def find_config(start: Path) -> Path | None:
    """The nearest strangler.toml, or pyproject.toml with a [tool.strangler] table, upwards."""
    for folder in (start, *start.parents):
        if (folder / "strangler.toml").is_file():
            return folder / "strangler.toml"
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and "strangler" in _read_toml(pyproject).get("tool", {}):
            return pyproject
    return None


def settings_table(path: Path) -> dict[str, Any]:
    """The raw settings in a config file, not yet checked: a strangler.toml's top-level keys
    (or its [tool.strangler] table), or a pyproject.toml's [tool.strangler] table."""
    table = _read_toml(path)
    if path.name == "pyproject.toml" or "tool" in table:
        strangler = table.get("tool", {}).get("strangler")
        if isinstance(strangler, dict):
            return strangler
        if path.name == "pyproject.toml":
            return {}
    return table


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc


def load_settings(config: Path | None = None, **overrides: Any) -> Settings:
    """Settings from a config file (found upwards from the cwd if not given), then from
    STRANGLER_<NAME> environment variables, then `overrides`.

    Overrides that are None are ignored, so CLI options left out keep the file's values.
    """
    values: dict[str, Any] = {}
    path = config or find_config(Path.cwd())
    if path is not None:
        values.update(settings_table(path))
        values["root"] = str(path.parent.resolve())
    values.update(settings_from_env(os.environ))
    values.update({k: v for k, v in overrides.items() if v is not None})
    fields = {f.name for f in dataclasses.fields(Settings)}
    unknown = sorted(set(values) - fields)
    if unknown:
        raise ConfigError(
            f"unknown setting(s) {', '.join(unknown)} in {path}; known: {sorted(fields)}"
        )
    missing = [name for name in ("legacy", "migrated") if not values.get(name)]
    if missing:
        where = f"in {path}" if path else "(no strangler.toml or [tool.strangler] found)"
        raise ConfigError(
            f"say which apps to serve {where}: set {' and '.join(missing)} to MODULE:ATTR,"
            " e.g. --legacy myservice.app:app --migrated myservice_v2.main:app"
        )
    for name in ("backend_header", "request_id_header"):
        if values.get(name) == "":
            values[name] = None
    values["legacy_threads"] = _threads(values.get("legacy_threads"))
    return Settings(**values)


def _threads(value: object) -> int | None:
    """`legacy_threads`: "auto" (or absent) for the adaptive pool, else a number of threads."""
    if value is None or value == "auto":
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f'legacy_threads = {value!r}: give "auto" or a number of threads (1+)')
    return value


def settings_from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """The settings given as STRANGLER_<NAME> variables, converted to each setting's type."""
    values: dict[str, Any] = {}
    for field in dataclasses.fields(Settings):
        name = "STRANGLER_" + field.name.upper()
        if name not in environ or field.name in ("root", "body_limits", "shadow_redact"):
            continue
        text, kind = environ[name], _kind(field.default)
        try:
            if field.name in ("guard", "dashboard_hosts"):  # a list: comma-separated
                values[field.name] = [item.strip() for item in text.split(",") if item.strip()]
            elif field.name == "legacy_threads":  # "auto" or a number: read by _threads
                if text != "auto" and not text.isdigit():
                    raise ValueError('give "auto" or a number of threads')
                values[field.name] = text
            elif kind is bool:
                if text.lower() not in _BOOLEANS:
                    raise ValueError(f"not one of {sorted(_BOOLEANS)}")
                values[field.name] = _BOOLEANS[text.lower()]
            elif kind in (int, float):
                values[field.name] = kind(text)
            else:
                values[field.name] = text
        except ValueError as exc:
            what = "setting" if field.name == "legacy_threads" else kind.__name__
            raise ConfigError(f"{name}={text!r} is not a valid {what}: {exc}") from None
    return values


def _kind(default: object) -> type:
    """The type a setting's value takes: its default's (str where it has none)."""
    return str if default is None or default is dataclasses.MISSING else type(default)


_BOOLEANS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}


def import_string(spec: str, root: str = ".") -> Any:
    """Imports `MODULE:ATTR` (ATTR may be dotted), looking in `root`, then the working directory.

    The working directory counts as it does for `uvicorn module:app`: worker processes started by
    `uvicorn.run` do not get it on sys.path by themselves.
    """
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"{spec!r} is not MODULE:ATTR, e.g. 'legacy.app:app'")
    for folder in (str(Path.cwd()), str(Path(root).resolve())):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    try:
        target: Any = importlib.import_module(module_name)
    except Exception as exc:  # the user's module may fail in any way while importing
        raise ConfigError(
            f"cannot import {module_name!r} for {spec!r}: {type(exc).__name__}: {exc}"
        ) from exc
    for part in attr.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ConfigError(
                f"module {module_name!r} has no attribute {attr!r} ({spec!r})"
            ) from None
    return target
