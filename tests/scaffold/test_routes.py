"""The endpoints to draft, read from a Flask url_map (strangler.scaffold.routes)."""

from __future__ import annotations

from flask import Flask

from strangler.scaffold.routes import legacy_routes, select


def app() -> Flask:
    flask = Flask(__name__)

    def view(**_: object) -> str:
        """Answers."""
        return ""

    for n, rule in enumerate(
        [
            "/items/<int:item_id>",
            "/price/<float:x>",
            "/files/<path:name>",
            "/users/<uuid:key>",
            "/tags/<tag>",
            "/kinds/<any(a, b):kind>",
        ]
    ):
        flask.add_url_rule(rule, f"view{n}", view, methods=["GET", "POST"])
    return flask


def test_each_converter_gives_a_fastapi_path_and_a_typed_parameter() -> None:
    """int, float, path and uuid keep their convertor in the path (a refused value stays a
    router 404), string a plain parameter, any(...) a Literal; float and uuid say how
    Starlette's convertor differs."""
    routes = {r.rule: r for r in legacy_routes(app()) if r.method == "GET"}
    seen = {rule: (r.path, [(p.name, p.python) for p in r.params]) for rule, r in routes.items()}
    assert seen["/items/<int:item_id>"] == ("/items/{item_id:int}", [("item_id", "int")])
    assert seen["/price/<float:x>"] == ("/price/{x:float}", [("x", "float")])
    assert seen["/files/<path:name>"] == ("/files/{name:path}", [("name", "str")])
    assert seen["/users/<uuid:key>"] == ("/users/{key:uuid}", [("key", "uuid.UUID")])
    assert seen["/tags/<tag>"] == ("/tags/{tag}", [("tag", "str")])
    assert seen["/kinds/<any(a, b):kind>"] == ("/kinds/{kind}", [("kind", "Literal['a', 'b']")])
    assert routes["/price/<float:x>"].params[0].note
    assert not routes["/items/<int:item_id>"].params[0].note


def test_routes_are_chosen_by_key_path_or_all_and_head_options_are_flasks() -> None:
    """A route key picks one method, a path every method of it, `all` everything; HEAD and
    OPTIONS (Flask answers them itself) are never drafted."""
    routes = legacy_routes(app())
    assert {r.method for r in routes} == {"GET", "POST"}
    assert [r.key for r in select(routes, ["POST /items/{id}"])] == ["POST /items/{item_id}"]
    assert [r.method for r in select(routes, ["/items/<int:item_id>"])] == ["GET", "POST"]
    assert len(list(select(routes, ["all"]))) == len(routes) == 13  # 6 rules x 2, /static
