"""The endpoint inventory (strangler.routing.inventory): discovery from both apps, matching."""

from __future__ import annotations

import pytest
from fastapi import APIRouter, FastAPI
from flask import Flask

from strangler.routing.inventory import Inventory, discover
from strangler.types import Backend
from tests.test_apps import pair


def test_route_keys_in_either_syntax_name_the_same_endpoint() -> None:
    """`GET /items/<id>` and `GET /items/{item}` find the endpoint both apps declare."""
    inventory = discover(pair.legacy, pair.migrated)
    endpoint = inventory.get("GET /items/<id>")
    assert endpoint is not None
    assert endpoint is inventory.get("get /items/{item}")
    assert endpoint.backends == {Backend.LEGACY, Backend.MIGRATED}


def test_inventory_says_which_app_serves_each_endpoint() -> None:
    """Each endpoint is served by legacy, migrated or both."""
    served = {e.key: e.served_by for e in discover(pair.legacy, pair.migrated)}
    assert served["GET /hello"] == "both"
    assert served["POST /hello"] == "legacy"
    assert served["GET /legacy-only"] == "legacy"
    assert served["GET /migrated-only"] == "migrated"
    assert served["GET /openapi.json"] == "migrated"
    assert not any(key.startswith(("HEAD ", "OPTIONS ")) for key in served)


def test_discovery_follows_fastapi_routers_and_mounts() -> None:
    """Routes under an included router's prefix and under a mounted sub-app are listed."""
    sub = FastAPI()
    sub.get("/deep")(lambda: {})
    router = APIRouter(prefix="/v2")
    router.post("/things/{thing_id}")(lambda thing_id: {})
    app = FastAPI()
    app.include_router(router)
    app.mount("/sub", sub)
    keys = {e.key for e in discover(Flask(__name__), app)}
    assert "POST /v2/things/{thing_id}" in keys
    assert "GET /sub/deep" in keys


@pytest.mark.parametrize(
    ("method", "path", "key"),
    [
        ("GET", "/hello", "GET /hello"),
        ("POST", "/hello", "POST /hello"),
        ("GET", "/items/42", "GET /items/{item_id}"),
        ("GET", "/items/", None),
        ("GET", "/items/1/2", None),
        ("DELETE", "/hello", None),
        ("HEAD", "/hello", None),
        ("GET", "/nowhere", None),
    ],
)
def test_requests_match_their_endpoint(method: str, path: str, key: str | None) -> None:
    """A request matches the endpoint of its method and path, or none (then legacy answers)."""
    endpoint = discover(pair.legacy, pair.migrated).match(method, path)
    assert (endpoint.key if endpoint else None) == key


def test_path_parameters_match_several_segments() -> None:
    """A {name:path} parameter spans slashes; a plain one does not."""
    flask_app = Flask(__name__)
    flask_app.get("/files/<path:name>")(lambda name: name)
    inventory = discover(flask_app, FastAPI())
    endpoint = inventory.match("GET", "/files/a/b/c.txt")
    assert endpoint is not None
    assert endpoint.key == "GET /files/{name:path}"


def test_empty_inventory_matches_nothing() -> None:
    """With no endpoints every request falls through."""
    assert Inventory([]).match("GET", "/") is None


def test_new_fixed_path_under_a_legacy_parameter_stays_on_legacy() -> None:
    """Legacy's `/users/<id>` serves `/users/me` today: the port's new `/users/me` is 'both'."""
    flask_app = Flask(__name__)
    flask_app.get("/users/<user_id>")(lambda user_id: user_id)
    app = FastAPI()
    app.get("/users/me")(lambda: {})
    inventory = discover(flask_app, app)
    endpoint = inventory.match("GET", "/users/me")
    assert endpoint is not None
    assert endpoint.served_by == "both"


def test_wsgi_middleware_in_front_of_flask_is_looked_through() -> None:
    """Flask behind werkzeug's ProxyFix still shows its endpoints."""
    from flask import Flask
    from werkzeug.middleware.proxy_fix import ProxyFix

    flask_app = Flask("wrapped")
    flask_app.add_url_rule("/hello", "hello", lambda: "hi")
    inventory = discover(ProxyFix(flask_app), None)
    assert {e.key for e in inventory} == {"GET /hello", "GET /static/{filename:path}"}


def test_the_first_declared_of_two_matching_templates_wins() -> None:
    """Parameterised templates are tried in the order the apps declared them, as Flask would:
    `/items/<a>/x` declared before `/items/<b>/<c>` takes `/items/1/x`."""
    flask_app = Flask(__name__)
    flask_app.add_url_rule("/items/<a>/x", "first", lambda a: a)
    flask_app.add_url_rule("/items/<b>/<c>", "second", lambda b, c: b)
    flask_app.add_url_rule("/late/<n>", "late", lambda n: n)
    inventory = discover(flask_app, FastAPI())
    matched = {p: inventory.match("GET", p) for p in ("/items/1/x", "/items/1/y", "/late/3")}
    assert {p: e.key if e else None for p, e in matched.items()} == {
        "/items/1/x": "GET /items/{a}/x",
        "/items/1/y": "GET /items/{b}/{c}",
        "/late/3": "GET /late/{n}",
    }


def test_a_path_legacy_reads_another_way_still_finds_its_endpoint() -> None:
    """werkzeug serves `//hello/` and `///hello/` by the rule `/hello/`: such spellings route by
    that endpoint's flag, while a path under no rule's first segment matches nothing."""
    flask_app = Flask(__name__)
    flask_app.get("/hello/")(lambda: "hi")
    inventory = discover(flask_app, FastAPI())
    for path in ("//hello/", "///hello/"):
        endpoint = inventory.match("GET", path)
        assert endpoint is not None, path
        assert endpoint.key == "GET /hello/"
    assert inventory.match("GET", "/elsewhere") is None


def test_a_legacy_catch_all_rule_is_still_asked_for_any_path() -> None:
    """A legacy rule that starts with a converter (`/<path:page>`) can serve any path: the
    first-segment shortcut steps aside and werkzeug decides."""
    flask_app = Flask(__name__)
    flask_app.get("/<path:page>")(lambda page: page)
    inventory = discover(flask_app, FastAPI())
    endpoint = inventory.match("GET", "/anything/at/all")
    assert endpoint is not None
    assert endpoint.key == "GET /{page:path}"
