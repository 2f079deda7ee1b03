"""Settings: every option of a gateway, declared once (the `Settings` class below: each with its
type, default, one line of help and the check its value must pass), read from the
`[tool.strangler]` table of pyproject.toml (or the top level of a strangler.toml), then from
STRANGLER_<NAME> environment variables, then from command-line options; each wins over the one
before. Every setting, with its default (this list is made from the class when the module is
imported: `help(strangler.settings)` shows it):

{reference}

Paths are relative to the file the settings came from. In the environment a value is written as
in the file, but bare: `STRANGLER_FLAGS=/srv/f.db`, `STRANGLER_LEGACY_THREADS=16`,
`STRANGLER_METRICS=false` (or 0/no, 1/yes); a list as JSON or comma-separated
(`STRANGLER_GUARD="POST /predict,GET /items"`, `STRANGLER_SHADOW_REDACT='["$.token"]'`); a table
as JSON (`STRANGLER_BODY_LIMITS='{{"POST /upload": 1048576}}'`); "" for none where a setting may be
none. Values are checked when the settings are made: a bad one is one ConfigError naming the
setting (or the variable), the value and what to give instead.

Admin credentials are never read from a file: they come from STRANGLER_ADMIN_TOKENS (named, with
a role each) and STRANGLER_ADMIN_TOKEN (one shared credential); see strangler.credentials.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import re
import sys
import tomllib
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from strangler.comparison import jsonpath
from strangler.comparison.cases import VOLATILE_HEADERS
from strangler.errors import ConfigError
from strangler.routing.sticky import parse_sticky
from strangler.serving.limits import Limits
from strangler.types import LOOPBACK

TOKEN_ENV = "STRANGLER_ADMIN_TOKEN"
TOKENS_ENV = "STRANGLER_ADMIN_TOKENS"
DEV_ENV = "STRANGLER_DEV"
ENV_PREFIX = "STRANGLER_"

_TOKEN = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")  # an HTTP header name (RFC 9110 token)
# The headers the gateway reads itself, and the one it marks answers with by default.
_READ = ("x-strangler-admin-token", "x-strangler-force-backend")
_MARK = "x-strangler-backend"


@dataclasses.dataclass(frozen=True)
class Option:
    """How one setting is documented and checked: the metadata of its field in `Settings`."""

    help: str  # one line, for the reference in this module's docstring
    give: str = ""  # what a good value is, for the error (default: its type's, e.g. "a number")
    # Whether a value of the setting's type is good (for a table: each of its values). It may
    # raise ConfigError itself, to say which part is wrong.
    valid: Callable[[Any], bool] | None = None
    read: Callable[[Any], Any] | None = None  # a written form to the value: "auto" -> None
    shown: str = ""  # the default as the reference shows it, when not the value itself


def setting(default: Any = dataclasses.MISSING, help: str = "", **option: Any) -> Any:
    """A field of `Settings` with its Option; a list or table default is copied per instance."""
    metadata = {"option": Option(help, **option)}
    if isinstance(default, list | dict):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def check_admin_prefix(admin_prefix: str) -> bool:
    """Raises ConfigError unless the admin prefix is a path below the root."""
    if not admin_prefix.startswith("/") or admin_prefix.rstrip("/") == "":
        raise ConfigError(
            f"admin_prefix {admin_prefix!r} must be a path below the root, e.g. '/_strangler'"
        )
    return True


# A webhook: an http(s) URL, or json:URL / slack:URL (strangler.rollout.notify.Webhook).
_WEBHOOK = re.compile(r"(?:(?:json|slack):)?https?://\S+")


def _spec(value: str | None) -> bool:
    """MODULE:ATTR, or none (create_gateway is given its apps themselves)."""
    module, _, attr = (value or "").partition(":")
    return not value or bool(module and attr)


def _sticky(spec: str) -> bool:
    parse_sticky(spec)  # its ConfigError lists the sources it knows
    return True


def _header(*taken: str) -> Callable[[str | None], bool]:
    """A header name (or none) that is not one of those `taken` by the gateway itself."""
    return lambda name: name is None or bool(_TOKEN.fullmatch(name) and name.lower() not in taken)


def _redact_entries(entries: list[str]) -> bool:
    """Name patterns ('*token*') and JSON paths ('$.card.number'): see strangler.shadow.policy."""
    for entry in entries:
        if not entry.startswith("$"):
            if not entry.strip() or entry != entry.strip():
                raise ConfigError(
                    f"shadow_redact: {entry!r} is neither a name pattern (e.g. '*token*')"
                    " nor a JSON path (e.g. '$.card.number')"
                )
            continue
        try:
            jsonpath.parse(entry)
        except ValueError as exc:
            raise ConfigError(f"shadow_redact: {entry!r} is not a JSON path: {exc}") from None
    return True


def _json_paths(paths: list[str]) -> bool:
    """JSON paths ('$.cached'), each parsed: a bad one is a ConfigError naming it."""
    for path in paths:
        try:
            jsonpath.parse(path)
        except ValueError as exc:
            raise ConfigError(f"shadow_never_noise: {path!r} is not a JSON path: {exc}") from None
    return True


def _threads(value: Any) -> Any:
    """`legacy_threads` as written: "auto" is the adaptive pool (None); "16" is 16."""
    if value == "auto":
        return None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return value


def _at_least(low: float) -> dict[str, Any]:
    return {"valid": lambda value: value >= low, "give": f"at least {low:g}"}


_POSITIVE: dict[str, Any] = {"valid": lambda value: value > 0, "give": "a positive number"}
_SPEC: dict[str, Any] = {"valid": _spec, "give": "MODULE:ATTR, e.g. 'legacy.app:app'"}
_HEADER = "a header name (letters, digits, '-'), not one the gateway uses itself"

# Defaults that are also the library's own (ShadowLimits, GuardRule, DEFAULT_NAMES, the
# watcher's interval), written out so that loading the settings, which every CLI command does,
# imports none of the request path. tests/test_settings.py keeps them equal.
_SHADOW_REDACT = [
    "*token*",
    "*secret*",
    "*pass*",
    "*key*",
    "*authorization",
    "*cookie",
    "*session*",
    "*credential*",
]


@dataclasses.dataclass
class Settings:
    """Every setting. However they are made (from the file's table, the environment, keyword
    arguments or JSON), the values are typed and checked here, so a bad one fails at once."""

    legacy: str = setting(help="the Flask (WSGI) app, as MODULE:ATTR", **_SPEC)
    migrated: str = setting(help="the FastAPI (ASGI) app, as MODULE:ATTR", **_SPEC)
    flags: str = setting(
        "var/strangler.db",
        'SQLite file; "redis://HOST:6379/0": a fleet; "memory:"',
        valid=bool,
        give='a SQLite file, a redis:// URL or "memory:"',
    )
    seed: str | None = setting(None, "flags (YAML) loaded into an empty store at start")
    sticky: str = setting(
        "client", "canary key: jwt:CLAIM, header:NAME, cookie:NAME, client", valid=_sticky
    )
    backend_header: str | None = setting(
        "X-Strangler-Backend",
        'names the backend in each answer; "" to leave it out',
        valid=_header(*_READ),
        give=f"{_HEADER}, e.g. 'X-Strangler-Backend'; or '' for none",
    )
    admin_prefix: str = setting(
        "/_strangler",
        "the admin API (and the dashboard, at /ui) is here",
        valid=check_admin_prefix,
    )
    legacy_threads: int | None = setting(
        None,
        "4 to 64, more while they wait on I/O; or a number",
        read=_threads,
        valid=lambda threads: threads is None or threads >= 1,
        give='"auto" or a number of threads (1+)',
        shown='"auto"',
    )
    poll_interval: float = setting(
        0.2, "seconds between a worker's reads of the flags", **_POSITIVE
    )
    freeze_gc: bool = setting(True, "gc.freeze() after startup: shorter GC pauses")
    # Contract tests (strangler.contracts) and the progress report (strangler.report).
    contracts: str = setting("contract_tests", "the contract corpus (YAML files of cases)")
    ledger: str | None = setting(None, "accepted differences (default: in `contracts`)")
    contract_reset: str | None = setting(
        None, "MODULE:ATTR: fresh state before each contract case", **_SPEC
    )
    contract_reset_force: bool = setting(
        False, "true: reset even while a gateway reads the flag store"
    )
    contract_reset_live: bool = setting(
        False, "true: POST /contract/reset may run it (--dev: always)"
    )
    contract_results: str = setting(
        "var/contract-results.json", "the last whole contract run, for reports"
    )
    legacy_quiet_days: float = setting(
        7.0, '"legacy can be deleted" after this long on migrated', **_at_least(0)
    )
    fuzz_examples: int = setting(300, "generated requests per endpoint", **_at_least(1))
    fuzz_seed: int = setting(0, "the same seed fuzzes the same requests")
    volatile_headers: list[str] = setting(
        list(VOLATILE_HEADERS),
        "answer headers never compared (+ the gateway's own)",
        valid=lambda names: all(_TOKEN.fullmatch(name) for name in names),
        give="a list of header names, e.g. ['date', 'server', 'etag']",
    )
    # Limits (strangler.serving.limits): sizes, times and counts, with their safe defaults.
    max_header_bytes: int = setting(
        Limits.max_header_bytes, "request line and headers, bytes: past it, 431", **_POSITIVE
    )
    max_headers: int = setting(Limits.max_headers, "header fields: past it, 431", **_POSITIVE)
    header_timeout: float = setting(
        Limits.header_timeout,
        "seconds to a request's last header: past it, 408",
        **_POSITIVE,
    )
    body_timeout: float = setting(
        Limits.body_timeout, "seconds a request body may stall between chunks", **_POSITIVE
    )
    keep_alive_timeout: int = setting(
        Limits.keep_alive_timeout, "seconds an idle connection stays open", **_POSITIVE
    )
    drain_timeout: int = setting(
        30, "seconds a stopping server lets requests end: then cut", **_at_least(0)
    )
    max_connections: int = setting(
        Limits.max_connections,
        "open connections per worker",
        **_POSITIVE,
    )
    max_body: int = setting(Limits.max_body, "request body, bytes: past it, 413", **_POSITIVE)
    body_limits: dict[str, int] = setting(
        {},
        'max_body per endpoint: {"POST /upload" = 1048576}',
        valid=lambda size: size >= 1,
        give="a size in bytes",
    )
    admin_max_body: int = setting(
        64 * 1024, "an admin API request body, bytes: past it, 413", **_POSITIVE
    )
    legacy_queue: int = setting(
        Limits.legacy_queue,
        "legacy requests waiting: past it, 503 (0: none wait)",
        **_at_least(0),
    )
    migrated_concurrency: int = setting(
        Limits.migrated_concurrency,
        "migrated requests at once: past it, 503",
        **_at_least(0),
    )
    # Shadow traffic (strangler.shadow): what it may cost, and what it never keeps.
    shadow_concurrency: int = setting(4, "shadow calls in flight at once", **_POSITIVE)
    shadow_queue: int = setting(256, "comparisons waiting: past it, not shadowed", **_POSITIVE)
    shadow_timeout: float = setting(5.0, "seconds a shadow call may take", **_POSITIVE)
    shadow_max_body: int = setting(
        1024 * 1024,
        "bodies over this many bytes are not shadowed",
        **_POSITIVE,
    )
    shadow_max_cpu: float = setting(
        0.7, "a core's busy share past which none is (>1: no cap)", **_POSITIVE
    )
    shadow_redact: list[str] = setting(
        _SHADOW_REDACT,
        "name globs and JSON paths whose values are never kept",
        valid=_redact_entries,
        give="a list of name patterns and JSON paths, e.g. ['*token*', '$.card.number']",
    )
    shadow_never_noise: list[str] = setting(
        [],
        "JSON paths always compared, never learned as noise",
        valid=_json_paths,
        give="a list of JSON paths, e.g. ['$.cached', '$.model_version']",
    )
    # The sandbox the side that is not serving runs in (strangler.sandbox).
    sandbox_databases: list[str] = setting(
        [],
        "SQLAlchemy engines a sandbox covers (MODULE:ATTR)",
        valid=lambda specs: all(_spec(spec) for spec in specs),
        give="a list of MODULE:ATTR, e.g. ['blog.db:engine']",
    )
    # Metrics, request logs and request ids (strangler.metrics).
    metrics: bool = setting(True, "Prometheus metrics at /_strangler/metrics")
    tracing: bool = setting(False, "OpenTelemetry spans (needs the strangler[otel] extra)")
    metrics_public: bool = setting(False, "true: scraped without the admin credential")
    metrics_port: int = setting(
        0,
        "N: also on a port of their own (strangler serve)",
        valid=lambda port: 0 <= port <= 65535,
        give="a port, or 0 for none",
    )
    metrics_host: str = setting("127.0.0.1", "...on this address", valid=bool, give="an address")
    health_port: int = setting(
        0,
        "N: health also on a port and thread of its own",
        valid=lambda port: 0 <= port <= 65535,
        give="a port, or 0 for none",
    )
    health_host: str = setting("127.0.0.1", "...on this address", valid=bool, give="an address")
    request_log: str = setting("", '"stdout", "stderr" or a file: a JSON line per request')
    request_id_header: str | None = setting(
        "X-Request-ID",
        "kept when sent, made when not, passed on, returned",
        valid=_header(*_READ, _MARK),
        give=f"{_HEADER}, e.g. 'X-Request-ID'; or '' for no request ids",
    )
    # The guard (strangler.rollout.guard): endpoints on migrated or canary that go back to legacy
    # by themselves when their migrated answers fail. It judges by the metrics.
    guard: list[str] = setting(
        [],
        'endpoints sent back when migrated fails ("*": all)',
        give="a list of endpoints, e.g. ['POST /predict'], or ['*'] for every endpoint",
    )
    guard_max_error_rate: float = setting(
        5.0,
        "...when over this % of migrated answers are 5xx",
        valid=lambda rate: 0 <= rate <= 100,
        give="0 to 100 (%)",
    )
    guard_window: float = setting(
        60.0, "...over this many seconds", valid=lambda s: s >= 1, give="at least 1 (seconds)"
    )
    guard_min_requests: int = setting(
        20, "...with at least this many migrated requests", **_at_least(1)
    )
    webhooks: list[str] = setting(
        [],
        "URLs told of rollout steps, guard actions, flag changes",
        valid=lambda urls: all(_WEBHOOK.fullmatch(url) for url in urls),
        give="a list of http(s) URLs (a JSON body each), slack:URL for a Slack-compatible body",
    )
    dashboard_hosts: list[str] = setting(
        list(LOOPBACK),
        "the dashboard's own host names (never the apps')",
        valid=lambda hosts: all(hosts),
        give="a list of host names, e.g. ['admin.example.com']",
    )
    # Not a setting: the folder the settings came from, where relative paths and imports start.
    root: str = "."

    def __post_init__(self) -> None:
        for name, option, kind in _options():
            setattr(self, name, _checked(name, getattr(self, name), kind, option))
        if self.guard and not self.metrics:
            raise ConfigError("guard needs metrics = true: it judges by the requests counted")

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


_DECLARED: list[tuple[str, Option, Any]] = []


def _options() -> list[tuple[str, Option, Any]]:
    """Each setting's name, Option and type (resolved once: the annotations are strings)."""
    if not _DECLARED:
        kinds = typing.get_type_hints(Settings)
        _DECLARED.extend(
            (f.name, f.metadata["option"], kinds[f.name])
            for f in dataclasses.fields(Settings)
            if "option" in f.metadata
        )
    return _DECLARED


def names() -> list[str]:
    """The names of every setting, in the order they are declared."""
    return [name for name, _, _ in _options()]


def _checked(name: str, value: Any, kind: Any, option: Option) -> Any:
    """`value` as the setting's type, checked; a ConfigError says what to give instead."""
    if option.read is not None:
        value = option.read(value)
    give = option.give or _describe(kind)
    if typing.get_origin(kind) is dict:  # a table: each entry alone, named when it fails
        if not isinstance(value, Mapping):
            raise ConfigError(f"{name} = {value!r}: give a table, each value {give}")
        key_kind, item_kind = typing.get_args(kind)
        return {
            _one(f"{name} key", key, key_kind, None, _describe(key_kind)): _one(
                f"{name}[{key!r}]", item, item_kind, option.valid, give
            )
            for key, item in value.items()
        }
    return _one(name, value, kind, option.valid, give)


def _one(name: str, value: Any, kind: Any, valid: Callable[[Any], bool] | None, give: str) -> Any:
    try:
        typed = _typed(kind, value)
    except TypeError:
        raise ConfigError(f"{name} = {value!r}: give {give}") from None
    if valid is not None and typed is not None and not valid(typed):
        raise ConfigError(f"{name} = {value!r}: give {give}")
    return typed


def _typed(kind: Any, value: Any) -> Any:
    """`value` as `kind` (str, int, float, bool, T | None or list[T]; a table is typed entry by
    entry in _checked); TypeError if it is not one. An int is a good float; "" is none where
    none is allowed."""
    if isinstance(kind, types.UnionType):  # T | None
        if value is None or value == "":
            return None
        (inner,) = (arg for arg in typing.get_args(kind) if arg is not type(None))
        return _typed(inner, value)
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is list:
        if not isinstance(value, list | tuple):
            raise TypeError(value)
        return [_typed(args[0], item) for item in value]
    if isinstance(value, bool) and kind is not bool:  # True is an int to Python, not to us
        raise TypeError(value)
    if kind is float and isinstance(value, int):
        return float(value)
    if not isinstance(value, kind):
        raise TypeError(value)
    return value


def _describe(kind: Any) -> str:
    """What a value of `kind` is, in the words of an error message."""
    if isinstance(kind, types.UnionType):
        inner = next(arg for arg in typing.get_args(kind) if arg is not type(None))
        return f"{_describe(inner)}, or '' for none"
    origin = typing.get_origin(kind)
    if origin is list:
        return "a list of strings"
    if origin is dict:
        return "a table"
    return {str: "a string", int: "a whole number", float: "a number", bool: "true or false"}[kind]


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
    values.update(settings_from_env(os.environ))
    values.update({k: v for k, v in overrides.items() if v is not None})
    known = names()
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(f"unknown setting(s) {', '.join(unknown)} in {path}; known: {known}")
    missing = [name for name in ("legacy", "migrated") if not values.get(name)]
    if missing:
        where = f"in {path}" if path else "(no strangler.toml or [tool.strangler] found)"
        raise ConfigError(
            f"say which apps to serve {where}: set {' and '.join(missing)} to MODULE:ATTR,"
            " e.g. --legacy myservice.app:app --migrated myservice_v2.main:app"
        )
    root = str(path.parent.resolve()) if path is not None else "."
    return Settings(**values, root=root)


def settings_from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """The settings given as STRANGLER_<NAME> variables, typed and checked as the setting is;
    a bad one is a ConfigError naming the variable."""
    values: dict[str, Any] = {}
    for name, option, kind in _options():
        variable = ENV_PREFIX + name.upper()
        if variable not in environ:
            continue
        text = environ[variable]
        try:
            written = text if option.read is not None else _from_text(kind, text)
        except ValueError as exc:
            raise ConfigError(
                f"{variable}={text!r} is not a valid {_type_name(kind)}: {exc}"
            ) from None
        try:
            values[name] = _checked(name, written, kind, option)
        except ConfigError as exc:
            raise ConfigError(f"{variable}={text!r} is not a valid setting: {exc}") from None
    return values


def _from_text(kind: Any, text: str) -> Any:
    """An environment variable's text as a value of `kind`; ValueError says why it is not."""
    if isinstance(kind, types.UnionType):
        inner = next(arg for arg in typing.get_args(kind) if arg is not type(None))
        return None if text == "" else _from_text(inner, text)
    origin = typing.get_origin(kind)
    if origin is list:
        if text.lstrip().startswith("["):
            return _json(text, list)
        return [item.strip() for item in text.split(",") if item.strip()]
    if origin is dict:
        return _json(text, dict)
    if kind is bool:
        if text.strip().lower() not in _BOOLEANS:
            raise ValueError(f"not one of {sorted(_BOOLEANS)}")
        return _BOOLEANS[text.strip().lower()]
    if kind in (int, float):
        return kind(text)
    return text


def _type_name(kind: Any) -> str:
    """`int`, `bool`, `list`...: the type a variable's text did not make."""
    if isinstance(kind, types.UnionType):
        return _type_name(next(arg for arg in typing.get_args(kind) if arg is not type(None)))
    origin = typing.get_origin(kind) or kind
    return "table" if origin is dict else str(origin.__name__)


def _json(text: str, kind: type) -> Any:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(value, kind):
        raise ValueError(f"give a JSON {'list' if kind is list else 'object'}")
    return value


_BOOLEANS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}


def reference() -> str:
    """Every setting with its default and help, as a [tool.strangler] table."""
    lines = ["    [tool.strangler]"]
    for field in dataclasses.fields(Settings):
        option = field.metadata.get("option")
        if option is None:
            continue
        if field.default_factory is not dataclasses.MISSING:
            default: Any = field.default_factory()
        else:
            default = field.default
        assignment = f"    {field.name} = {option.shown or _toml(default)}"
        if len(assignment) > _COMMENT - 2:  # a long default: its help on a line of its own
            lines.append(assignment)
            assignment = ""
        lines.append(f"{assignment:<{_COMMENT}}# {option.help}")
    return "\n".join(lines)


_COMMENT = 43  # the column the help starts in


def _toml(value: Any) -> str:
    """A default as TOML (near enough JSON for these values); no default: a placeholder."""
    if value is dataclasses.MISSING:
        return '"MODULE:ATTR"'
    if value is None:
        return '""'
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)


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


__doc__ = (__doc__ or "").format(reference=reference())
