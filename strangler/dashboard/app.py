"""The operator dashboard: every endpoint at a glance, the changes operators make, the audit
trail and the shadow mismatches. Server-rendered (Jinja2), no build step and nothing fetched from
elsewhere: one small inline script refreshes the table every 5 s.

    GET  /ui/login, POST /ui/login    the admin credential for a session cookie (session.py)
    POST /ui/logout
    GET  /ui/                         the overview, endpoints in motion first (and /ui/table)
    POST /ui/flag | /ui/shadow | /ui/rollback   each with a reason, a CSRF token, same origin
    GET  /ui/rollout?endpoint=         an endpoint's rollout: steps, criteria, rates (and /part)
    POST /ui/rollout                    promote | pause | resume | approve | abort, with a reason
    POST /ui/shadow/ack | /ui/shadow/clear      the shadow findings kept: seen, or forgotten
    GET  /ui/history?endpoint=&actor=          the audit trail, filtered
    GET  /ui/mismatches?endpoint=               the last mismatches, both answers side by side

Every page but the login needs a session; a change also needs the `write` role, the session's
CSRF token, and to come from the dashboard's own origin.

The dashboard answers only on host names of its own (`dashboard_hosts`; loopback by default),
never on the host the apps are served on: a script injected into any page of those apps (which
share that origin) could otherwise read a logged-in operator's CSRF token and change flags.
Point a name of its own at the gateway (admin.example.com) and list it. The request's one Host
header must be exactly host[:port] and name one of them; anything else is refused.

Wrong tokens at the login form are logged and counted against their client, with the admin
API's (strangler.credentials.Tries): past its allowance, 429 until it may try again. The notes
shown after a change are the dashboard's own (notes.py: signed).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import jinja2
import yaml
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from strangler.credentials import Credentials, Role, Tries, client_of
from strangler.dashboard import notes, views
from strangler.dashboard import session as sessions
from strangler.dashboard.series import Samples
from strangler.errors import StranglerError
from strangler.flags.service import FlagService
from strangler.flags.watcher import FlagWatcher
from strangler.metrics.figures import millis
from strangler.report import render
from strangler.report.progress import Progress
from strangler.rollout.plan import State, duration_text
from strangler.rollout.service import RolloutService
from strangler.shadow import findings
from strangler.types import LOOPBACK

log = logging.getLogger("strangler.admin")

_PAGES = jinja2.Environment(
    loader=jinja2.PackageLoader("strangler.dashboard", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
)


def build_dashboard(
    service: FlagService,
    watcher: FlagWatcher,
    credentials: Credentials,
    rollouts: RolloutService,
    progress: Callable[[], Progress],
    shadow_findings: Callable[[], dict[str, Any]],
    hosts: tuple[str, ...] = LOOPBACK,
    *,
    samples: Samples,
    tries: Tries | None = None,
    corpus: str = "contract_tests",
) -> FastAPI:
    """The dashboard app; it answers only requests whose Host is one of `hosts` (see the
    module docstring: never on the origin of the apps it fronts). samples: the series its
    pages draw, taken by the gateway's Sampler (strangler.dashboard.series); tries: the wrong
    tries of each client, shared with the admin API; corpus: the contract corpus folder, where
    the mismatches page says to copy a case."""
    ui = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    allowed = {host.lower() for host in hosts}
    tries = tries if tries is not None else Tries()

    def host_of(request: Request) -> str | None:
        """The request's Host, if it is one well-formed header (what the browser sent; not
        request.url, which falls back to the server's address for a bad or missing one)."""
        given = request.headers.getlist("host")
        return given[0] if len(given) == 1 and sessions.host_name(given[0]) else None

    @ui.middleware("http")
    async def own_origin_only(request: Request, call_next: Any) -> Response:
        if sessions.host_name(host_of(request)) not in allowed:
            return Response(
                "the dashboard is served on its own host name only (dashboard_hosts)",
                status_code=404,
            )
        response: Response = await call_next(request)
        return response

    def page(
        name: str,
        request: Request,
        status: int = 200,
        headers: dict[str, str] | None = None,
        **context: Any,
    ) -> HTMLResponse:
        html = _PAGES.get_template(name).render(
            base=str(request.scope.get("root_path", "")), **context
        )
        return HTMLResponse(
            html,
            status_code=status,
            headers={
                **(headers or {}),
                "Cache-Control": "no-store",
                "X-Frame-Options": "DENY",
                "Content-Security-Policy": "default-src 'self'; style-src 'unsafe-inline';"
                " script-src 'unsafe-inline'; frame-ancestors 'none'",
            },
        )

    def current(request: Request) -> sessions.Session | None:
        return sessions.read(credentials, request.cookies.get(sessions.COOKIE))

    def to_login(request: Request) -> Response:
        return RedirectResponse(str(request.scope.get("root_path", "")) + "/login", 303)

    @ui.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, failed: bool = False) -> Response:
        return page("login.html", request, 401 if failed else 200, failed=failed)

    @ui.post("/login")
    async def login(request: Request) -> Response:
        headers = {k.lower(): v for k, v in request.headers.items()}
        if not sessions.same_origin(headers, request.headers["host"]):
            return Response("refused: log in from this page", status_code=403)
        form = await request.form()  # (4 KiB at most: strangler.admin.gate)
        # No await from here to the count: concurrent tries cannot all pass the check first.
        client = client_of(request.scope)
        if wait := tries.wait(client):
            retry = math.ceil(wait)
            return page("login.html", request, 429, {"Retry-After": str(retry)}, wait=retry)
        credential = credentials.match(str(form.get("token", "")) or None)
        if credential is None:
            if credentials.configured:
                tries.failed(client)
                log.warning("wrong admin credential from %s on %s", client, request.url.path)
            return page("login.html", request, 401, failed=True)
        root = str(request.scope.get("root_path", ""))
        answer = RedirectResponse(root + "/", 303)
        answer.set_cookie(
            sessions.COOKIE,
            sessions.issue(credentials, credential),
            max_age=int(sessions.LIFETIME),
            path=root.rsplit("/ui", 1)[0] or "/",
            httponly=True,
            samesite="strict",
            # Secure except on a loopback host (a browser keeps Secure cookies from http only
            # there); behind a TLS proxy the gateway sees http, the browser https.
            secure=sessions.host_name(request.headers["host"]) not in LOOPBACK,
        )
        return answer

    @ui.post("/logout")
    def logout(request: Request) -> Response:
        answer = to_login(request)
        root = str(request.scope.get("root_path", ""))
        answer.delete_cookie(sessions.COOKIE, path=root.rsplit("/ui", 1)[0] or "/")
        return answer

    def overview_context(request: Request, session: sessions.Session) -> dict[str, Any]:
        now = time.time()
        found = progress()
        every = rollouts.load()
        active = {k: r for k, r in every.items() if r.state.active}
        return {
            "progress": found,
            "rows": views.ordered(found.endpoints, active, changed_lately(now)),
            "recent": lambda key: views.recent(samples, key, now),
            "traffic": lambda key: views.traffic_chart(samples, key, now),
            "window": views.WINDOW_TEXT,
            "recent_window": views.RECENT_TEXT,
            "plans": every,
            "overall": render.overall(found),
            "percent": render.percent,
            "contract_cell": render.contract_cell,
            "shadow_cell": render.shadow_cell,
            "millis": millis,
            "session": session,
            "writer": session.credential.may(Role.WRITE),
            "version": watcher.snapshot.version,
            "store": watcher.health()["status"],
            "rollouts": active,
            "message": notes.read(key(), "message", request.query_params.get("message")),
            "error": notes.read(key(), "error", request.query_params.get("error")),
        }

    @ui.get("/", response_class=HTMLResponse)
    def overview(request: Request) -> Response:
        session = current(request)
        if session is None:
            return to_login(request)
        return page("overview.html", request, **overview_context(request, session))

    @ui.get("/table", response_class=HTMLResponse)
    def table(request: Request) -> Response:
        session = current(request)
        if session is None:
            return Response(status_code=401)
        return page("table.html", request, **overview_context(request, session))

    def changed_lately(now: float) -> set[str]:
        """Endpoints whose flag changed in the last CHANGED_LATELY seconds."""
        try:
            entries = service.history(None, 200)
        except StranglerError:
            return set()
        since = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now - views.CHANGED_LATELY))
        return {e.endpoint for e in entries if e.at >= since}

    def key() -> bytes:
        return credentials.secret()

    def back(request: Request, kind: str, text: str, to: str = "/") -> Response:
        """To the overview (or `to`), showing `text` in its box for `kind` (message or error)."""
        query = urlencode({kind: notes.signed(key(), kind, text)})
        joined = "&" if "?" in to else "?"
        root = str(request.scope.get("root_path", ""))
        return RedirectResponse(root + to + joined + query, 303)

    async def change(
        request: Request,
        act: Callable[[dict[str, str], str], str],
        to: Callable[[dict[str, str]], str] = lambda form: "/",
    ) -> Response:
        """A change from a form: session, role, CSRF token, origin, reason; then `act`."""
        session = current(request)
        if session is None:
            return Response("log in first", status_code=401)
        if not session.credential.may(Role.WRITE):
            return Response("this credential may read, not change", status_code=403)
        headers = {k.lower(): v for k, v in request.headers.items()}
        if not sessions.same_origin(headers, request.headers["host"]):
            return Response("refused: the change did not come from this page", status_code=403)
        form = {k: str(v) for k, v in (await request.form()).items()}
        if not form.get("csrf") or form["csrf"] != session.csrf:
            return Response("refused: the form is stale or forged; reload it", status_code=403)
        if not form.get("reason", "").strip():
            return back(request, "error", "say why", to(form))
        actor = f"{session.credential.name} (dashboard)"
        try:
            said = act(form, actor)
        except StranglerError as exc:
            return back(request, "error", str(exc), to(form))
        except ValueError:  # a percentage that is not a number
            return back(request, "error", "give the percentage as a number from 0 to 100", to(form))
        watcher.refresh()
        return back(request, "message", said, to(form))

    @ui.post("/flag")
    async def set_flag(request: Request) -> Response:
        def act(form: dict[str, str], actor: str) -> str:
            mode = form.get("mode", "")
            percentage = float(form["percentage"]) if mode == "canary" else None
            entry = service.set(
                form.get("endpoint", ""), mode, percentage, actor=actor, reason=form["reason"]
            )
            return f"{form.get('endpoint')}: {entry.after.describe()}" if entry else "unchanged"

        return await change(request, act)

    @ui.post("/shadow")
    async def set_shadow(request: Request) -> Response:
        def act(form: dict[str, str], actor: str) -> str:
            entry = service.shadow(
                form.get("endpoint", ""),
                float(form.get("percentage") or 0),
                side_effect_free=form.get("side_effect_free") or None,
                actor=actor,
                reason=form["reason"],
            )
            return f"{form.get('endpoint')}: {entry.after.describe()}" if entry else "unchanged"

        return await change(request, act)

    @ui.post("/shadow/ack")
    async def acknowledge(request: Request) -> Response:
        def act(form: dict[str, str], actor: str) -> str:
            key = form.get("endpoint", "")
            found = findings.acknowledge(service.store, key, actor=actor, reason=form["reason"])
            return f"{key}: {found['acknowledged']['mismatched']} mismatch(es) acknowledged"

        return await change(request, act)

    @ui.post("/shadow/clear")
    async def clear(request: Request) -> Response:
        def act(form: dict[str, str], actor: str) -> str:
            key = form.get("endpoint") or None
            found = findings.clear(service.store, key, actor=actor, reason=form["reason"])
            return f"shadow findings cleared: {', '.join(found['cleared']) or 'none kept'}"

        return await change(request, act)

    @ui.post("/rollback")
    async def roll_back(request: Request) -> Response:
        def act(form: dict[str, str], actor: str) -> str:
            key = form.get("endpoint", "")
            plan = rollouts.load().get(service.endpoint(key).key)
            if plan is not None and plan.state.active:
                rollouts.abort(key, actor=actor, reason=form["reason"])
            else:
                service.set(key, "legacy", actor=actor, reason=form["reason"])
            return f"{key}: back on legacy"

        return await change(request, act)

    def rollout_context(
        request: Request, session: sessions.Session, endpoint: str
    ) -> dict[str, Any]:
        """The endpoint's rollout as the store has it now (never a copy kept by the page)."""
        now = time.time()
        name = service.endpoint(endpoint).key
        plan = rollouts.load().get(name)
        described = rollouts.describe(plan, rollouts.fleet.try_read(), now) if plan else None
        return {
            "endpoint": name,
            "rollout": plan,
            "described": described,
            "actions": _actions(plan.state) if plan else (),
            "criteria": views.criteria(samples.judged(name), now),
            "charts": views.backend_charts(samples, name, now),
            "recent": views.recent(samples, name, now),
            "window": views.WINDOW_TEXT,
            "recent_window": views.RECENT_TEXT,
            "events": list(reversed(plan.events)) if plan else [],
            "when": lambda at: time.strftime("%H:%M:%S", time.gmtime(at)),
            "duration": duration_text,
            "session": session,
            "writer": session.credential.may(Role.WRITE),
            "message": notes.read(key(), "message", request.query_params.get("message")),
            "error": notes.read(key(), "error", request.query_params.get("error")),
        }

    @ui.get("/rollout", response_class=HTMLResponse)
    def rollout_page(request: Request, endpoint: str = "") -> Response:
        session = current(request)
        if session is None:
            return to_login(request)
        try:
            context = rollout_context(request, session, endpoint)
        except StranglerError as exc:
            return page("rollout.html", request, 404, session=session, missing=str(exc))
        return page("rollout.html", request, **context)

    @ui.get("/rollout/part", response_class=HTMLResponse)
    def rollout_part(request: Request, endpoint: str = "") -> Response:
        session = current(request)
        if session is None:
            return Response(status_code=401)
        try:
            context = rollout_context(request, session, endpoint)
        except StranglerError:
            return Response(status_code=404)
        return page("rollout_part.html", request, **context)

    @ui.post("/rollout")
    async def rollout_action(request: Request) -> Response:
        def act(form: dict[str, str], actor: str) -> str:
            action, endpoint = form.get("action", ""), form.get("endpoint", "")
            if action not in ACTIONS:
                return f"no such action: {action or '(none)'}"
            done = getattr(rollouts, action)(endpoint, actor=actor, reason=form["reason"])
            return f"{done.plan.endpoint}: rollout {done.state.value} at {done.percentage:g}%"

        def to(form: dict[str, str]) -> str:
            return "/rollout?" + urlencode({"endpoint": form.get("endpoint", "")})

        return await change(request, act, to)

    @ui.get("/history", response_class=HTMLResponse)
    def history(request: Request, endpoint: str = "", actor: str = "") -> Response:
        session = current(request)
        if session is None:
            return to_login(request)
        error: str | None = None
        try:
            entries = service.history(endpoint or None, 500)
        except StranglerError as exc:
            entries, error = [], str(exc)
        if actor:
            entries = [e for e in entries if actor.lower() in e.actor.lower()]
        return page(
            "history.html",
            request,
            entries=entries[:200],
            endpoint=endpoint,
            actor=actor,
            endpoints=[e.key for e in service.inventory],
            error=error,
            session=session,
        )

    @ui.get("/mismatches", response_class=HTMLResponse)
    def mismatches(request: Request, endpoint: str = "") -> Response:
        session = current(request)
        if session is None:
            return to_login(request)
        found = shadow_findings().get("endpoints", [])
        shown = [e for e in found if not endpoint or e["endpoint"] == endpoint]
        for entry in shown:
            for mismatch in entry["last_mismatches"]:
                mismatch["case_yaml"] = yaml.safe_dump(
                    [mismatch["case"]], sort_keys=False, allow_unicode=True
                )
            entry["groups"] = views.grouped(entry["last_mismatches"])
        return page(
            "mismatches.html",
            request,
            entries=shown,
            highlighted=views.highlighted,
            corpus=corpus,  # where the mismatches page says to copy a case
            one=len(shown) == 1,
            session=session,
            writer=session.credential.may(Role.WRITE),
        )

    return ui


# What the rollout page's buttons call (strangler.rollout.service.RolloutService).
ACTIONS = ("approve", "promote", "pause", "resume", "abort")


def _actions(state: State) -> tuple[str, ...]:
    """The buttons a rollout in `state` gets (the service refuses the others, saying why)."""
    if state is State.RUNNING:
        return ("promote", "pause", "abort")
    if state is State.PAUSED:
        return ("resume", "promote", "abort")
    if state is State.AWAITING_APPROVAL:
        return ("approve", "pause", "abort")
    return ()
