"""Building the gateway from settings: what `strangler serve` hands each uvicorn worker, and what
a service's own root module calls (`app = build_gateway(load_settings())`).
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path
from typing import Any

from prometheus_client import start_http_server

from strangler.admin.auth import Credentials
from strangler.contracts import jsonpath
from strangler.contracts.cases import Rules
from strangler.contracts.corpus import corpus_files, load_corpus
from strangler.contracts.ledger import load_ledger
from strangler.errors import ConfigError, StranglerError
from strangler.flags.errors import FlagStoreError
from strangler.flags.flagfile import import_flags
from strangler.flags.model import AuditEntry
from strangler.flags.service import FlagService
from strangler.gateway.dispatch import Gateway, check_admin_prefix, create_gateway
from strangler.metrics.gateway import multiprocess
from strangler.rollout.guard import EVERY_ENDPOINT, GuardRule
from strangler.routing.inventory import discover
from strangler.routing.sticky import parse_sticky
from strangler.serving.protocol import configure
from strangler.settings import Settings, import_string
from strangler.shadow.tap import ShadowLimits, ShadowTap

log = logging.getLogger("strangler.server")

SETTINGS_ENV = "STRANGLER_SETTINGS_JSON"

_TOKEN = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")  # an HTTP header name (RFC 9110 token)
_OURS = {"x-strangler-admin-token", "x-strangler-force-backend", "x-strangler-backend"}


def check_settings(settings: Settings) -> None:
    """Checks what the gateway would refuse, so a server reports one clear line before it
    starts its workers, not a traceback from each of them."""
    parse_sticky(settings.sticky)
    check_admin_prefix(settings.admin_prefix)
    Credentials.parse(settings.admin_tokens, settings.admin_token, dev_mode=settings.dev_mode)
    if settings.legacy_threads is not None and settings.legacy_threads < 1:
        raise ConfigError(f"legacy_threads = {settings.legacy_threads}: give at least 1")
    if settings.poll_interval <= 0:
        raise ConfigError(f"poll_interval = {settings.poll_interval}: give a positive number")
    for name in ("shadow_concurrency", "shadow_queue", "shadow_timeout", "shadow_max_body"):
        value = getattr(settings, name)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ConfigError(f"{name} = {value!r}: give a positive number")
    redact = settings.shadow_redact
    if not isinstance(redact, list) or not all(isinstance(path, str) for path in redact):
        raise ConfigError(
            f"shadow_redact = {redact!r}: give a list of JSON paths, e.g. ['$.token']"
        )
    for path in redact:
        try:
            jsonpath.parse(path)
        except ValueError as exc:
            raise ConfigError(f"shadow_redact: {path!r} is not a JSON path: {exc}") from None
    if not isinstance(settings.guard, list) or not all(isinstance(k, str) for k in settings.guard):
        raise ConfigError(
            f"guard = {settings.guard!r}: give a list of endpoints, e.g. ['POST /predict'], or"
            " ['*'] for every endpoint"
        )
    rule = guard_rule(settings)
    if rule is not None:
        rule.check()
        if not settings.metrics:
            raise ConfigError("guard needs metrics = true: it judges by the requests counted")
    id_header = settings.request_id_header
    if id_header is not None and (not _TOKEN.fullmatch(id_header) or id_header.lower() in _OURS):
        raise ConfigError(
            f"request_id_header = {id_header!r}: give a header name (letters, digits, '-'), not one"
            " the gateway uses itself, e.g. 'X-Request-ID'; or '' for no request ids"
        )
    if settings.request_log not in ("", "stdout", "stderr"):
        log_path = Path(settings.path(settings.request_log))
        try:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            with open(log_path, "a", encoding="utf-8"):
                pass
        except OSError as exc:
            raise ConfigError(f"request_log: cannot write {log_path}: {exc}") from None
    if not 0 <= settings.metrics_port <= 65535:
        raise ConfigError(f"metrics_port = {settings.metrics_port}: give a port, or 0 for none")
    for name, value in vars(settings.limits).items():
        if value < 0 or (value == 0 and name != "legacy_queue"):  # a queue of 0: no waiting
            raise ConfigError(f"{name} = {value}: give a positive number")
    for endpoint, size in settings.body_limits.items():
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ConfigError(f"body_limits[{endpoint!r}] = {size!r}: give a size in bytes")
    try:
        endpoints = discover(
            import_string(settings.legacy, settings.root),
            import_string(settings.migrated, settings.root),
        )
    except ConfigError:
        return  # the apps' own error is reported where they are imported
    named = [("body_limits", key) for key in settings.body_limits]
    named += [("guard", key) for key in settings.guard if key != EVERY_ENDPOINT]
    for setting, endpoint in named:
        try:
            known = endpoints.get(endpoint)
        except ValueError as exc:
            raise ConfigError(f"{setting}: {exc}") from None
        if known is None:
            raise ConfigError(f"{setting} names {endpoint!r}, which neither app serves")


def build_gateway(settings: Settings) -> Gateway:
    """Imports both apps by their MODULE:ATTR and builds the gateway in front of them, and sets
    this process's connection limits (used where the server runs GuardedProtocol).

    A store that was never written is seeded from the `seed` file first (`strangler serve` has
    done so before its workers start; under a plain `uvicorn module:app` this is the first start).
    """
    configure(settings.limits)
    gateway = create_gateway(
        import_string(settings.legacy, settings.root),
        import_string(settings.migrated, settings.root),
        settings.path(settings.flags),
        sticky=settings.sticky,
        backend_header=settings.backend_header,
        admin_prefix=settings.admin_prefix,
        admin_token=settings.admin_token,
        admin_tokens=settings.admin_tokens,
        dev_mode=settings.dev_mode,
        legacy_threads=settings.legacy_threads,
        poll_interval=settings.poll_interval,
        freeze_gc=settings.freeze_gc,
        legacy_queue=settings.legacy_queue,
        migrated_concurrency=settings.migrated_concurrency,
        body_limits=settings.body_limits,
        shadow=shadow_tap(settings),
        metrics=settings.metrics,
        metrics_public=settings.metrics_public,
        request_log=request_log(settings),
        request_id_header=settings.request_id_header,
        guard=guard_rule(settings),
        contract_results=settings.contract_results_path,
        legacy_quiet_days=settings.legacy_quiet_days,
        dashboard_hosts=tuple(settings.dashboard_hosts),
    )
    if seed_store(settings, gateway.service):
        gateway.watcher.refresh()
    return gateway


def create_store(settings: Settings, service: FlagService) -> list[AuditEntry]:
    """Creates the store behind `service` if it does not exist yet (its open was allowed to
    create), then seeds it; a FlagStoreError says why it could not."""
    service.store.version()  # opening creates it
    return seed_store(settings, service)


def seed_store(settings: Settings, service: FlagService) -> list[AuditEntry]:
    """Loads the seed file into a store that has never been written (version 0).

    A store that cannot be read is not seeded: the gateway serves anyway and routes by its
    defaults (legacy) until the store is readable; the fault is logged.
    """
    if not settings.seed:
        return []
    seed = Path(settings.path(settings.seed))
    if not seed.is_file():
        return []
    try:
        if service.store.version() != 0:
            return []
        changes = import_flags(service, seed, actor="seed")
    except FlagStoreError as exc:
        log.warning("not seeding the flag store from %s: %s", seed, exc)
        return []
    if changes:
        log.info("seeded %d flag(s) from %s", len(changes), seed)
    return changes


def request_log(settings: Settings) -> str | None:
    """Where the request log goes: stdout, stderr, a path (resolved against the settings'
    folder), or None."""
    if settings.request_log in ("", "stdout", "stderr"):
        return settings.request_log or None
    return settings.path(settings.request_log)


def guard_rule(settings: Settings) -> GuardRule | None:
    """The guard the settings ask for, or None."""
    if not settings.guard:
        return None
    return GuardRule(
        tuple(settings.guard),
        settings.guard_max_error_rate,
        settings.guard_window,
        settings.guard_min_requests,
    )


def settings_to_env(settings: Settings) -> dict[str, str]:
    return {SETTINGS_ENV: json.dumps(vars(settings))}


def from_environment() -> Gateway:
    """The uvicorn factory each worker process calls (`strangler serve` set the environment):
    the gateway, with this worker's connection limits."""
    values: dict[str, Any] = json.loads(os.environ[SETTINGS_ENV])
    settings = Settings(**values)
    gateway = build_gateway(settings)
    if settings.metrics_port and gateway.metrics is not None and not multiprocess():
        # One process: it serves its own metrics port (with workers, `strangler serve` does).
        start_http_server(
            settings.metrics_port, addr=settings.metrics_host, registry=gateway.metrics.registry
        )
    return gateway


def shadow_tap(settings: Settings) -> ShadowTap:
    """The shadow tap, comparing by the corpus's rules per endpoint and the ledger. A corpus or
    ledger that cannot be read costs only those (logged): the gateway serves regardless."""
    rules: dict[str, Rules] = {}
    ledger = None
    try:
        if settings.contracts_path.is_dir():
            files = load_corpus(corpus_files(settings.contracts_path, settings.ledger_path))
            rules = {file.endpoint: file.rules for file in files if file.endpoint}
        if settings.ledger_path.is_file():
            ledger = load_ledger(settings.ledger_path)
    except StranglerError as exc:
        log.warning("shadowing compares by the default rules: %s", exc)
    limits = ShadowLimits(
        concurrency=settings.shadow_concurrency,
        queue=settings.shadow_queue,
        timeout=settings.shadow_timeout,
        max_body=settings.shadow_max_body,
        max_cpu=settings.shadow_max_cpu,
    )
    return ShadowTap(rules, ledger, limits, settings.shadow_redact)
