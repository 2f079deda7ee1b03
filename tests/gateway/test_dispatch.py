"""The gateway in process: per-endpoint routing, the backend header, forcing, fallthrough."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from strangler.assembly import create_gateway
from strangler.flags.model import Flag
from strangler.flags.store import open_store
from strangler.gateway.dispatch import Gateway
from strangler.testing import override_flags
from tests.support.asgi import http_scope
from tests.support.pair_gateway import ADMIN, ADMIN_TOKEN
from tests.test_apps import pair


async def test_unflagged_endpoints_are_served_by_legacy(client: httpx.AsyncClient) -> None:
    """With no flags, an endpoint both apps serve goes to legacy, and the header says so."""
    response = await client.get("/hello")
    assert response.json()["app"] == "legacy"
    assert response.headers["x-strangler-backend"] == "legacy"


async def test_flipping_one_endpoint_moves_only_that_endpoint(
    gateway: Gateway, client: httpx.AsyncClient
) -> None:
    """`GET /hello` on migrated leaves `POST /hello` and `GET /items/{id}` on legacy."""
    with override_flags(gateway, {"GET /hello": "migrated"}):
        assert (await client.get("/hello")).json()["app"] == "migrated"
        assert (await client.post("/hello")).json()["app"] == "legacy"
        assert (await client.get("/items/3")).json() == {"app": "legacy", "item": 3}
    assert (await client.get("/hello")).json()["app"] == "legacy"


async def test_path_parameters_route_by_template(
    gateway: Gateway, client: httpx.AsyncClient
) -> None:
    """A flag on `GET /items/<id>` routes every `/items/N` to migrated."""
    with override_flags(gateway, {"GET /items/<id>": "migrated"}):
        response = await client.get("/items/7")
    assert response.json() == {"app": "migrated", "item": 7}
    assert response.headers["x-strangler-backend"] == "migrated"


async def test_unknown_paths_keep_legacys_own_404_and_405(client: httpx.AsyncClient) -> None:
    """Paths and methods no app declares reach legacy, whose 404/405 pages come back unchanged."""
    missing = await client.get("/no/such/thing")
    assert missing.status_code == 404
    assert "<title>404 Not Found</title>" in missing.text
    assert missing.headers["x-strangler-backend"] == "legacy"
    wrong_method = await client.delete("/hello")
    assert wrong_method.status_code == 405
    assert "GET" in wrong_method.headers["allow"]


async def test_head_and_options_are_answered_by_legacy(
    gateway: Gateway, client: httpx.AsyncClient
) -> None:
    """HEAD/OPTIONS, which Flask answers for every route, stay with legacy even when GET moved."""
    with override_flags(gateway, {"GET /hello": "migrated"}):
        head = await client.head("/hello")
        options = await client.options("/hello")
    assert (head.status_code, head.headers["x-strangler-backend"]) == (200, "legacy")
    assert (options.status_code, options.headers["x-strangler-backend"]) == (200, "legacy")


async def test_migrated_only_endpoints_are_served_by_migrated(client: httpx.AsyncClient) -> None:
    """An endpoint only migrated declares, like its OpenAPI document, is served by migrated."""
    assert (await client.get("/migrated-only")).json() == {"app": "migrated"}
    openapi = await client.get("/openapi.json")
    assert openapi.headers["x-strangler-backend"] == "migrated"


async def test_canary_is_sticky_per_caller(gateway: Gateway, client: httpx.AsyncClient) -> None:
    """At 50 %, each caller (by its X-Client-Id header) keeps one backend over 20 requests."""
    sticky = create_gateway(pair.legacy, pair.migrated, sticky="header:X-Client-Id")
    transport = httpx.ASGITransport(app=sticky)
    seen: dict[str, set[str]] = {}
    with override_flags(sticky, {"GET /hello": ("canary", 50)}):
        async with httpx.AsyncClient(transport=transport, base_url="http://g") as c:
            for caller in range(40):
                for _ in range(20):
                    r = await c.get("/hello", headers={"X-Client-Id": f"caller-{caller}"})
                    seen.setdefault(f"caller-{caller}", set()).add(r.json()["app"])
    assert all(len(backends) == 1 for backends in seen.values())
    assert {"legacy", "migrated"} == set().union(*seen.values())


async def test_backend_header_can_be_renamed_or_left_out() -> None:
    """backend_header picks the header's name; None leaves it out."""
    for header, expected in (("X-Served-By", "x-served-by"), (None, None)):
        gateway = create_gateway(pair.legacy, pair.migrated, backend_header=header)
        transport = httpx.ASGITransport(app=gateway)
        async with httpx.AsyncClient(transport=transport, base_url="http://g") as c:
            response = await c.get("/hello")
        names = {name for name in response.headers if name.startswith("x-")} - {"x-request-id"}
        assert names == ({expected} if expected else set())


async def test_force_header_with_admin_token_overrides_the_flag(client: httpx.AsyncClient) -> None:
    """X-Strangler-Force-Backend with the admin token picks the backend."""
    headers = {"X-Strangler-Force-Backend": "migrated", "X-Strangler-Admin-Token": ADMIN_TOKEN}
    response = await client.get("/hello", headers=headers)
    assert response.json()["app"] == "migrated"


@pytest.mark.parametrize(
    ("method", "path", "forced", "served"),
    [
        ("GET", "/legacy-only", "migrated", "legacy"),
        ("POST", "/hello", "migrated", "legacy"),  # a method only legacy serves
        ("OPTIONS", "/hello", "migrated", "legacy"),  # a preflight: legacy answers them
        ("GET", "/migrated-only", "legacy", "migrated"),
    ],
)
async def test_force_header_moves_only_what_a_flag_could_move(
    client: httpx.AsyncClient, method: str, path: str, forced: str, served: str
) -> None:
    """The force header picks the backend only for an endpoint both apps serve; anything else
    goes where a flip would send it, so a forced contract run sees no difference a flip would
    not make (#24)."""
    headers = {"X-Strangler-Force-Backend": forced, "X-Strangler-Admin-Token": ADMIN_TOKEN}
    response = await client.request(method, path, headers=headers)
    assert response.headers["x-strangler-backend"] == served


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Strangler-Force-Backend": "migrated"},
        {"X-Strangler-Force-Backend": "migrated", "X-Strangler-Admin-Token": "wrong"},
        {"X-Strangler-Force-Backend": "elsewhere", "X-Strangler-Admin-Token": ADMIN_TOKEN},
    ],
)
async def test_force_header_without_credential_is_refused(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    """Forcing without the admin token, or to no known backend, answers 401 and routes nothing."""
    response = await client.get("/hello", headers=headers)
    assert response.status_code == 401
    assert "X-Strangler-Admin-Token" in response.json()["error"]


async def test_admin_token_never_reaches_the_apps() -> None:
    """The gateway strips its own headers before the request reaches an app."""
    seen: list[list[tuple[bytes, bytes]]] = []

    class Recording:
        """The pair's migrated app (its routes too), recording each request's headers."""

        routes = pair.migrated.routes

        async def __call__(self, scope, receive, send):  # type: ignore[no-untyped-def]
            seen.append(list(scope["headers"]))
            await pair.migrated(scope, receive, send)

    gateway = create_gateway(pair.legacy, Recording(), admin_token=ADMIN_TOKEN)
    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url="http://g") as c:
        headers = {"X-Strangler-Force-Backend": "migrated", "X-Strangler-Admin-Token": ADMIN_TOKEN}
        await c.get("/hello", headers=headers)
    names = {name for name, _ in seen[0]}
    assert b"x-strangler-admin-token" not in names
    assert b"x-strangler-force-backend" not in names


async def test_gateway_runs_the_migrated_apps_lifespan() -> None:
    """Startup and shutdown of the gateway start and stop the migrated app too."""
    from strangler.gateway.lifespan import Lifespan

    gateway = create_gateway(pair.legacy, pair.migrated)
    pair.lifespan_events.clear()
    state: dict[str, object] = {}
    lifespan = Lifespan(gateway, state)
    await lifespan.startup()
    assert pair.lifespan_events == ["startup"]
    await lifespan.shutdown()
    assert pair.lifespan_events == ["startup", "shutdown"]


async def test_gateway_mounted_under_a_prefix_routes_relative_paths() -> None:
    """Under root_path /api, `/api/hello` is `GET /hello` for routing and the admin API."""
    from starlette.applications import Starlette
    from starlette.routing import Mount

    gateway = create_gateway(pair.legacy, pair.migrated, admin_token=ADMIN_TOKEN)
    outer = Starlette(routes=[Mount("/api", app=gateway)])
    transport = httpx.ASGITransport(app=outer)
    async with httpx.AsyncClient(transport=transport, base_url="http://g") as c:
        with override_flags(gateway, {"GET /hello": "migrated"}):
            assert (await c.get("/api/hello")).json()["app"] == "migrated"
        assert (await c.get("/api/hello")).json()["app"] == "legacy"
        assert (await c.get("/api/_strangler/endpoints", headers=ADMIN)).status_code == 200


async def test_flags_refresh_without_a_lifespan(tmp_path: Path) -> None:
    """Under a server that sends no lifespan, a change from another process still arrives."""
    open_store(tmp_path / "f.db", create=True).version()  # `strangler flags init`
    gateway = create_gateway(pair.legacy, pair.migrated, tmp_path / "f.db", poll_interval=0.05)
    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url="http://g") as c:
        assert (await c.get("/hello")).json()["app"] == "legacy"
        other = open_store(tmp_path / "f.db")
        other.set("GET /hello", Flag.build("migrated"), actor="ops", reason="elsewhere")
        # Bounded by time, not by count: a loaded CI machine may poll late, never never.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if (await c.get("/hello")).json()["app"] == "migrated":
                break
            await asyncio.sleep(0.02)
        assert (await c.get("/hello")).json()["app"] == "migrated"
    gateway.close()


async def test_head_and_options_on_migrated_only_paths_reach_migrated(
    client: httpx.AsyncClient,
) -> None:
    """HEAD/OPTIONS on a path only migrated serves get migrated's answer, not legacy's 404."""
    head = await client.head("/migrated-only")
    options = await client.options("/migrated-only")
    assert head.headers["x-strangler-backend"] == "migrated"
    assert options.headers["x-strangler-backend"] == "migrated"
    assert head.status_code != 404
    assert options.status_code != 404


async def test_whitespace_authorization_does_not_break_jwt_stickiness(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A blank Authorization header on a JWT-keyed canary gets a random bucket, no error."""
    gateway = create_gateway(pair.legacy, pair.migrated, sticky="jwt:user")
    transport = httpx.ASGITransport(app=gateway)
    with override_flags(gateway, {"GET /hello": ("canary", 50)}):
        async with httpx.AsyncClient(transport=transport, base_url="http://g") as c:
            response = await c.get("/hello", headers={"Authorization": " \t "})
    assert response.status_code == 200
    assert "routing failed" not in caplog.text


@pytest.mark.parametrize("prefix", ["/", "", "_strangler"])
def test_admin_prefix_must_be_a_path_below_the_root(prefix: str) -> None:
    """A root or relative admin prefix is refused at construction, naming the setting."""
    from strangler.errors import ConfigError

    with pytest.raises(ConfigError, match="admin_prefix"):
        create_gateway(pair.legacy, pair.migrated, admin_prefix=prefix)


async def asgi_request(app: Gateway, method: str, path: str) -> tuple[int, dict[str, str], bytes]:
    """Sends `path` exactly as given (an HTTP client would tidy `//hello`), as a server would."""
    messages: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        messages.append(message)

    scope = http_scope(path, method=method, headers=[(b"host", b"gateway")])
    await app(scope, receive, send)  # type: ignore[arg-type]
    start = messages[0]
    headers = {k.decode(): v.decode() for k, v in start["headers"]}  # type: ignore[attr-defined]
    body = b"".join(m.get("body", b"") for m in messages[1:])  # type: ignore[misc]
    return int(start["status"]), headers, body  # type: ignore[call-overload]


@pytest.mark.parametrize(
    ("spelling", "backend"),
    [
        ("//hello", "migrated"),  # werkzeug serves it as /hello
        ("///hello", "migrated"),
        ("//items/7", "migrated"),
        ("//items//7", "legacy"),  # werkzeug redirects it to /items/7: asked again, then routed
        ("/hello//", "legacy"),  # no endpoint: legacy's own 404
    ],
)
async def test_no_spelling_of_a_path_gets_around_its_flag(
    gateway: Gateway, spelling: str, backend: str
) -> None:
    """A spelling the legacy router serves routes by the flag of the endpoint it serves it as,
    and migrated is handed the merged path (#11)."""
    from werkzeug.exceptions import HTTPException

    try:
        pair.legacy.url_map.bind("gateway").match(spelling, "GET")
        legacy_serves = True
    except HTTPException:
        legacy_serves = False
    flags = {"GET /hello": "migrated", "GET /items/<id>": "migrated"}
    with override_flags(gateway, flags):
        status, headers, body = await asgi_request(gateway, "GET", spelling)
    assert headers["x-strangler-backend"] == backend
    assert legacy_serves is (backend == "migrated")
    if backend == "migrated":
        assert status == 200
        assert b'"app":"migrated"' in body


async def test_an_endpoint_only_one_app_serves_can_be_switched_off(
    gateway: Gateway, client: httpx.AsyncClient
) -> None:
    """`off` hides a migrated-only endpoint (the port's /docs, say) behind legacy's 404, and a
    legacy-only one behind migrated's; an endpoint both serve cannot be switched off (#11)."""
    from strangler.flags.errors import InvalidFlag

    assert (await client.get("/migrated-only")).status_code == 200
    with override_flags(gateway, {"GET /migrated-only": "off", "GET /legacy-only": "off"}):
        hidden = await client.get("/migrated-only")
        gone = await client.get("/legacy-only")
    assert (hidden.status_code, hidden.headers["x-strangler-backend"]) == (404, "legacy")
    assert (gone.status_code, gone.headers["x-strangler-backend"]) == (404, "migrated")
    assert (await client.get("/migrated-only")).status_code == 200
    with pytest.raises(InvalidFlag, match="served by both apps"):
        gateway.runtime.service.check("GET /hello", "off")
