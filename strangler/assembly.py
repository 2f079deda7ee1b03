"""The composition root: every part of a gateway is built here, from the settings, and
nothing in strangler/ below it imports it.

    Settings ─► flag store ─► watcher        inventory of both apps ─► WSGI bridge and its pool
             ─► observers (metrics, request log)   shadow tap (the corpus's rules, the ledger)
             ─► flag service ─► fleet reader ─► rollout service ─► conductor (and the guard)
             ─► admin API, with the dashboard under /ui
             ─► Gateway (strangler.gateway: the request path) + Runtime (its parts and threads)

`create_gateway(legacy, migrated, flags, **settings)` builds one from Python; `build_gateway(
settings)` from a `[tool.strangler]` table (what `strangler serve` hands each uvicorn worker,
and what a service's own root module calls: `app = build_gateway(load_settings())`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import threading
from functools import partial
from pathlib import Path
from typing import Any

from prometheus_client import start_http_server

from strangler.admin.api import build_admin_app, open_paths
from strangler.admin.gate import AdminGate
from strangler.bridge.bridge import make_bridge
from strangler.comparison.cases import Rules
from strangler.comparison.corpus import corpus_files, load_corpus
from strangler.comparison.ledger import load_ledger
from strangler.comparison.saved import load_adhoc, load_results
from strangler.credentials import MIN_TOKEN_LENGTH, Credentials, Tries
from strangler.dashboard.app import build_dashboard
from strangler.dashboard.series import Sampler, Samples
from strangler.dashboard.session import read as read_session
from strangler.errors import ConfigError, StranglerError
from strangler.flags.errors import FlagStoreError
from strangler.flags.flagfile import import_flags
from strangler.flags.inventory import publish_quietly
from strangler.flags.model import AuditEntry
from strangler.flags.service import FlagService
from strangler.flags.store import FlagStore, open_store
from strangler.flags.watcher import FlagWatcher
from strangler.gateway.dispatch import Gateway
from strangler.gateway.hooks import RequestObserver
from strangler.metrics.counters import GatewayMetrics, multiprocess
from strangler.metrics.exposition import worker_exited
from strangler.metrics.fleet import FleetReader
from strangler.metrics.requestlog import RequestLog
from strangler.report.progress import Progress, gather
from strangler.rollout.clerk import Clerk
from strangler.rollout.conductor import Conductor
from strangler.rollout.gauges import RolloutCollector
from strangler.rollout.guard import EVERY_ENDPOINT, Guard, GuardRule
from strangler.rollout.notify import Notifier, Webhook
from strangler.rollout.service import RolloutService
from strangler.routing.inventory import Inventory, discover
from strangler.routing.openapi import service_openapi
from strangler.routing.sticky import parse_sticky
from strangler.sandbox.setup import SandboxStatus
from strangler.sandbox.setup import start as start_sandbox
from strangler.serving.health import HealthListener
from strangler.serving.memory import MemoryTrimmer
from strangler.serving.protocol import configure
from strangler.serving.unguarded import LimitsCheck
from strangler.settings import Settings, import_string
from strangler.shadow.findings import Keeper
from strangler.shadow.findings import report as findings_report
from strangler.shadow.record import FRESH
from strangler.shadow.tap import ShadowLimits, ShadowTap
from strangler.types import ASGIApp, Backend, WSGIApp

log = logging.getLogger("strangler.assembly")

SETTINGS_ENV = "STRANGLER_SETTINGS_JSON"


def check_settings(settings: Settings) -> None:
    """Checks what the gateway would refuse beyond the values themselves (Settings checks those
    when it is made): the admin credentials in the environment, that the request log can be
    written, and that the endpoints `body_limits` and `guard` name are served by an app; so a
    server reports one clear line before it starts its workers, not a traceback from each."""
    admin_credentials(settings)
    log_path = request_log(settings)
    if log_path not in (None, "stdout", "stderr"):
        try:
            Path(log_path).parent.mkdir(parents=True, exist_ok=True)
            with open(log_path, "a", encoding="utf-8"):
                pass
        except OSError as exc:
            raise ConfigError(f"request_log: cannot write {log_path}: {exc}") from None
    try:
        inventory = discover(
            import_string(settings.legacy, settings.root),
            import_string(settings.migrated, settings.root),
        )
    except ConfigError:
        return  # the apps' own error is reported where they are imported
    for key in settings.body_limits:
        _endpoint_key(inventory, key, "body_limits")
    for key in settings.guard:
        if key != EVERY_ENDPOINT:
            _endpoint_key(inventory, key, "guard")


def admin_credentials(settings: Settings) -> Credentials:
    """The admin credentials of the environment; ConfigError for a weak token outside
    development mode (strangler.credentials.MIN_TOKEN_LENGTH)."""
    found = Credentials.parse(
        settings.admin_tokens, settings.admin_token, dev_mode=settings.dev_mode
    )
    if not settings.dev_mode:
        found.refuse_weak()
    return found


class Runtime:
    """A gateway's parts besides the request path: what the admin API, the dashboard, the CLI in
    process and tests act on, and the threads the gateway's lifespan starts and stops (it is the
    gateway's Lifecycle, strangler.gateway.hooks)."""

    def __init__(
        self,
        service: FlagService,
        watcher: FlagWatcher,
        *,
        shadow: ShadowTap | None,
        metrics: GatewayMetrics | None,
        request_log: RequestLog | None,
        guard: GuardRule | None,
        contract_results: Path | None,
        legacy_quiet_days: float,
        webhooks: tuple[str, ...] = (),
    ) -> None:
        self.service = service
        self.watcher = watcher
        self.shadow = shadow
        self.metrics = metrics
        self.request_log = request_log
        # Findings kept in the store across restarts and workers (strangler.shadow.findings):
        # the noise kept is taken as learned before serving, and each heartbeat folds in more.
        self.keeper = Keeper(watcher.store, shadow) if shadow is not None else None
        if self.keeper is not None:  # every worker's findings, for whichever worker is asked
            self.keeper.restore()
            watcher.publishers["shadow"] = self.keeper.published
        if metrics is not None:  # every worker's totals, for the rollout judge
            watcher.publishers["requests"] = metrics.published
        # This worker's one name in the store (host:pid:id): as it reads the flags, publishes
        # its figures and holds leases.
        worker = watcher.reader
        fleet = FleetReader(
            watcher.store,
            worker,
            metrics.totals if metrics is not None else None,
            shadow.report if shadow is not None else None,
        )
        self.rollouts = RolloutService(service, fleet)
        guarding = Guard(guard) if guard is not None and guard.endpoints else None
        self.conductor = Conductor(self.rollouts, worker, guarding)
        # What happened (rollout steps, guard actions, flag changes), told once in the fleet:
        # counted for the metrics, posted to the webhooks.
        notifier = Notifier([Webhook.parse(url) for url in webhooks]) if webhooks else None
        self.clerk = Clerk(service, worker, notifier=notifier)
        self.rollout_metrics = RolloutCollector(self.rollouts.load, self.clerk.counter)
        self._contract_results = contract_results
        self._legacy_quiet_days = legacy_quiet_days
        self._closed = False
        self._publisher: threading.Thread | None = None
        self.memory = MemoryTrimmer()  # what a burst freed, given back (strangler.serving.memory)
        self.health: HealthListener | None = None  # health on a port of its own (serve sets it)
        self.sandbox = SandboxStatus()  # what the shadow's sandbox covers (assemble sets it)
        self.sampler: Sampler | None = None  # the dashboard's series, if it can be opened

    @property
    def observers(self) -> tuple[RequestObserver, ...]:
        """What the request path tells of every request: those that are on."""
        return tuple(o for o in (self.metrics, self.request_log) if o is not None)

    def start(self) -> None:
        # The endpoints, recorded in the store for the commands that check names without
        # importing the apps; in a thread, so a store that is away delays nothing.
        self._publisher = threading.Thread(
            target=publish_quietly,
            args=(self.service.store, self.service.inventory),
            name="strangler-inventory",
            daemon=True,
        )
        self._publisher.start()
        self.watcher.start()
        if self.metrics is not None:
            self.metrics.start(self.watcher, self.shadow)
        self.conductor.start()
        self.clerk.start()
        self.memory.start()
        if self.sampler is not None:
            self.sampler.start()
        if self.health is not None:
            self.health.start()

    def close(self) -> None:
        if self._closed:  # stopping twice is harmless
            return
        self._closed = True
        if self.health is not None:
            self.health.stop()
        if self._publisher is not None:
            self._publisher.join(timeout=5)
        self.conductor.stop()
        self.clerk.stop()
        self.memory.stop()
        if self.sampler is not None:
            self.sampler.stop()
        if self.keeper is not None:  # what was counted since the last heartbeat, kept too
            self.keeper.fold()
        self.watcher.close()
        if self.metrics is not None:
            self.metrics.stop()
            worker_exited()
        if self.request_log is not None:
            self.request_log.close()

    def progress(self) -> Progress:
        """How far the migration is (strangler.report): the flags, every worker's figures, the
        rollouts, and the last contract run saved."""
        path = self._contract_results
        contracts = load_results(path) if path is not None else None
        ledger = self.shadow.ledger if self.shadow is not None else None
        return gather(
            self.service,
            self.watcher.snapshot,
            self.rollouts.fleet.try_read(),
            self.rollouts.load(),
            contracts,
            ledger,
            self._legacy_quiet_days,
            load_adhoc(path) if path is not None else None,
        )

    def health_report(self) -> dict[str, Any]:
        """What the health port answers: the admin API's /health without its refresh (the
        watcher's poll keeps it within a poll of the store; the listener's thread never waits
        for a store across the network)."""
        flags = self.watcher.health()
        return {
            "status": flags["status"],
            "flags": flags,
            "endpoints": len(self.service.inventory),
            "worker": self.watcher.reader,
            "sandbox": self.sandbox.view(),
        }

    def shadow_findings(self) -> dict[str, Any]:
        """Every worker's shadow findings: those kept in the store, this worker's not folded
        yet, and the samples the workers published lately."""
        published = self.service.store.published("shadow", FRESH)
        if self.keeper is None:
            return findings_report(self.service.store.findings(), (), published)
        kept, pending = self.keeper.read()
        live = (self.watcher.reader, self.keeper.tap.report())
        return findings_report(kept, pending, published, live)


def runtime_of(gateway: Gateway) -> Runtime:
    """The Runtime of a gateway this module built."""
    if not isinstance(gateway.runtime, Runtime):
        raise TypeError(f"{gateway!r} was not built by strangler.assembly")
    return gateway.runtime


def build_gateway(settings: Settings) -> Gateway:
    """Imports both apps by their MODULE:ATTR and builds the gateway in front of them, and sets
    this process's connection limits (used where the server runs GuardedProtocol).

    A store that was never written is seeded from the `seed` file first (`strangler serve` has
    done so before its workers start; under a plain `uvicorn module:app` this is the first start).
    """
    configure(settings.limits)
    gateway = assemble(
        import_string(settings.legacy, settings.root),
        import_string(settings.migrated, settings.root),
        settings,
        credentials=admin_credentials(settings),
        shadow=shadow_tap(settings),
        contract_results=settings.contract_results_path,
        shed=True,
    )
    runtime = runtime_of(gateway)
    if seed_store(settings, runtime.service):
        runtime.watcher.refresh()
    # Served by a server of its own: says at the first request if the limits do not hold there.
    gateway.observers = (*gateway.observers, LimitsCheck(partial(_unobserve, gateway)))
    return gateway


def _unobserve(gateway: Gateway, observer: RequestObserver) -> None:
    gateway.observers = tuple(o for o in gateway.observers if o is not observer)


def create_gateway(
    legacy: WSGIApp,
    migrated: ASGIApp,
    flags: str | Path | FlagStore = "memory:",
    *,
    admin_token: str | None = None,
    admin_tokens: str | None = None,
    dev_mode: bool = False,
    shadow: ShadowTap | None = None,
    contract_results: str | Path | None = None,
    **settings: Any,
) -> Gateway:
    """Builds the gateway in front of a WSGI app (`legacy`) and an ASGI app (`migrated`).

    flags: where the flag table lives: a SQLite file path, `redis://...`, `memory:`, or a
        FlagStore. Every worker on the same store sees every change within `poll_interval`.
    admin_tokens: named credentials (`ann:write:TOKEN,ci:read:TOKEN`, strangler.credentials);
        `admin_token`: one shared credential named admin. They guard the admin API and the
        X-Strangler-Force-Backend header; with none the API is closed unless `dev_mode`.
    shadow: the shadow tap that serves the flags' shadow shares (strangler.shadow); None: one
        comparing by the default rules, with no ledger (`build_gateway` gives the corpus's).
    contract_results: the saved contract run the progress report reads; None: none.
    settings: any other setting of strangler.settings.Settings, by its name (`sticky`,
        `backend_header`, `metrics`, `request_log`, `body_limits`, `guard`, ...), with its
        default there; except that `freeze_gc` is off (it changes the host process) and
        requests are shed only past a `legacy_queue` or `migrated_concurrency` given here.
    """
    settings.setdefault("freeze_gc", False)
    shed = "legacy_queue" in settings or "migrated_concurrency" in settings
    given = Settings(legacy="", migrated="", **settings)
    credentials = Credentials.parse(admin_tokens, admin_token, dev_mode=dev_mode)
    if weak := credentials.weak():  # in process (a test, a script): said, not refused
        log.warning(
            "WEAK ADMIN TOKEN(S) for %s: shorter than %d characters; `strangler serve` refuses"
            " them outside development mode",
            ", ".join(weak),
            MIN_TOKEN_LENGTH,
        )
    store = flags if not isinstance(flags, str | Path) else None
    if store is None:
        given.flags = str(flags)
    return assemble(
        legacy,
        migrated,
        given,
        credentials=credentials,
        store=store,
        shadow=shadow if shadow is not None else ShadowTap(base=comparison_rules(given)),
        contract_results=Path(contract_results) if contract_results else None,
        shed=shed,
    )


def assemble(
    legacy: WSGIApp,
    migrated: ASGIApp,
    settings: Settings,
    *,
    credentials: Credentials,
    store: FlagStore | None = None,
    shadow: ShadowTap | None = None,
    contract_results: Path | None = None,
    shed: bool = True,
) -> Gateway:
    """Builds every part from `settings` (its app strings aside: the apps are given) and wires
    them; raises ConfigError for a setting the gateway cannot serve by."""
    sticky = parse_sticky(settings.sticky)
    inventory = discover(legacy, migrated)
    body_limits = {
        _endpoint_key(inventory, key, "body_limits"): int(size)
        for key, size in settings.body_limits.items()
    }
    guard = guard_rule(settings)
    if guard is not None:
        guard.check()
        guarded = tuple(
            key if key == EVERY_ENDPOINT else _endpoint_key(inventory, key, "guard")
            for key in guard.endpoints
        )
        guard = dataclasses.replace(guard, endpoints=guarded)
    # The sandbox shadow and A/A calls run in: its engines covered and its rollback proved
    # before the first request (a bad MODULE:ATTR is a ConfigError, like the apps').
    sandbox = start_sandbox(
        import_string(spec, settings.root) for spec in settings.sandbox_databases
    )
    # The store is opened once the settings are known to fit the apps: a refusal leaves nothing
    # open behind it.
    watcher = FlagWatcher(
        store if store is not None else open_store(settings.path(settings.flags)),
        settings.poll_interval,
    )
    log_target = request_log(settings)
    metrics = GatewayMetrics() if settings.metrics else None
    on_drop = metrics.lines_dropped if metrics is not None else None  # lines a full disk cost
    runtime = Runtime(
        FlagService(watcher.store, inventory),
        watcher,
        shadow=shadow,
        metrics=metrics,
        request_log=RequestLog(log_target, on_drop) if log_target else None,
        guard=guard,
        contract_results=contract_results,
        legacy_quiet_days=settings.legacy_quiet_days,
        webhooks=tuple(settings.webhooks),
    )
    runtime.sandbox = runtime.service.sandbox = sandbox
    if shadow is not None:
        shadow.sandbox = sandbox
    # For the CLI, which checks shadow changes without the apps (see FlagService.writes_problem).
    watcher.publishers["sandbox"] = lambda: json.dumps(sandbox.view())
    admin = build_admin_app(
        runtime.service,
        watcher,
        credentials=credentials,
        shadow=shadow,
        metrics=runtime.metrics,
        metrics_public=settings.metrics_public,
        rollouts=runtime.rollouts,
        progress=runtime.progress,
        shadow_findings=runtime.shadow_findings,
        service_openapi=lambda: service_openapi(legacy, migrated, inventory),
        extra_metrics=(runtime.rollout_metrics,),
        contract_reset=settings.contract_reset,
        contract_reset_live=settings.contract_reset_live or credentials.dev_mode,
        root=settings.root,
    )
    tries = Tries()  # wrong credentials per client, on the API and the login form alike
    # The dashboard's series, sampled in the background while it can be opened at all.
    samples = Samples(runtime.rollouts)
    if credentials.configured or credentials.dev_mode:
        runtime.sampler = Sampler(samples)
    admin.mount(
        "/ui",
        build_dashboard(
            runtime.service,
            watcher,
            credentials,
            runtime.rollouts,
            runtime.progress,
            runtime.shadow_findings,
            tuple(settings.dashboard_hosts),
            samples=samples,
            tries=tries,
            corpus=str(settings.contracts_path),
        ),
    )
    gate = AdminGate(
        admin,
        credentials,
        max_body=settings.admin_max_body,
        open_paths=open_paths(metrics_public=settings.metrics_public),
        session=lambda cookie: read_session(credentials, cookie) is not None,
        tries=tries,
    )
    capacity = {}
    if shed:
        capacity = {
            Backend.LEGACY: settings.legacy_queue,
            Backend.MIGRATED: settings.migrated_concurrency,
        }
    bridge = make_bridge(legacy, threads=settings.legacy_threads)
    return gateway_type(settings)(
        bridge,
        migrated,
        inventory,
        watcher,
        credentials=credentials,
        admin=gate,
        admin_prefix=settings.admin_prefix,
        sticky=sticky,
        backend_header=settings.backend_header,
        request_id_header=settings.request_id_header,
        capacity=capacity,
        legacy_pool=bridge.pool,
        body_limits=body_limits,
        shadow=shadow,
        observers=runtime.observers,
        runtime=runtime,
        freeze_gc=settings.freeze_gc,
        # A guarded endpoint's failed migrated answers are retried on legacy or replaced
        guarded=guard.covers if guard is not None and guard.endpoints else None,
    )


def gateway_type(settings: Settings) -> type[Gateway]:
    """The plain Gateway, or with `tracing` the one that makes OpenTelemetry spans (imported
    only then: the extra is optional, and the plain request path has no tracing in it)."""
    if not settings.tracing:
        return Gateway
    try:
        from strangler.tracing import TracedGateway
    except ImportError as exc:
        raise ConfigError(
            f"tracing = true needs OpenTelemetry ({exc}): pip install 'strangler[otel]'"
        ) from None
    return TracedGateway


def _endpoint_key(inventory: Inventory, key: str, setting: str) -> str:
    try:
        endpoint = inventory.get(key)
    except ValueError as exc:
        raise ConfigError(f"{setting}: {exc}") from None
    if endpoint is None:
        raise ConfigError(f"{setting} names {key!r}, which neither app serves")
    return endpoint.key


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
    runtime = runtime_of(gateway)
    if settings.health_port:
        runtime.health = HealthListener(
            settings.health_host, settings.health_port, runtime.health_report
        )
    metrics = runtime.metrics
    if settings.metrics_port and metrics is not None and not multiprocess():
        # One process: it serves its own metrics port (with workers, `strangler serve` does).
        start_http_server(
            settings.metrics_port, addr=settings.metrics_host, registry=metrics.registry
        )
    return gateway


def comparison_rules(settings: Settings) -> Rules:
    """The rules the contract run and shadowing both start from: every answer header compared
    but the `volatile_headers` and the gateway's own (its backend mark, its request id, which
    differ between two answers by design)."""
    own = (settings.backend_header or "", settings.request_id_header or "")
    ignored = [name.lower() for name in (*settings.volatile_headers, *own) if name]
    return Rules(ignore_headers=tuple(dict.fromkeys(ignored)))


def shadow_tap(settings: Settings) -> ShadowTap:
    """The shadow tap, comparing by the corpus's rules per endpoint and the ledger. A corpus or
    ledger that cannot be read costs only those (logged): the gateway serves regardless."""
    base = comparison_rules(settings)
    rules: dict[str, Rules] = {}
    ledger = None
    try:
        if settings.contracts_path.is_dir():
            files = load_corpus(corpus_files(settings.contracts_path, settings.ledger_path), base)
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
    return ShadowTap(
        rules,
        ledger,
        limits,
        settings.shadow_redact,
        settings.shadow_never_noise,
        base=base,
        gateway_headers=(settings.request_id_header,) if settings.request_id_header else (),
    )
