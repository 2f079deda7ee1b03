"""`strangler scaffold` on flaskr, Flask's tutorial app (tests/test_apps/flaskr): every endpoint
drafted from what legacy answered to the corpus, the drafted corpus passing legacy against
itself, and the delete endpoint, completed by hand, honouring the session flaskr's login made,
in the mixed-backend contract scenario too (#26)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from strangler.scaffold.routes import legacy_routes
from tests.scaffold.drafts import FLASKR, NOTHING, ask, example_path, load, scaffold, strangler
from tests.test_apps.flaskr import completed, legacy


@pytest.fixture(scope="module")
def drafted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every flaskr endpoint scaffolded from its corpus and made-up requests."""
    out = tmp_path_factory.mktemp("flaskr")
    scaffold(FLASKR, out, "all", "--capture")
    return out


def test_every_endpoint_is_drafted_documented_and_answers_501(drafted: Path) -> None:
    """The draft imports, answers each of flaskr's endpoints with Werkzeug's 501 page, and
    documents the answers legacy gave: the delete's redirect, 403 and 404 pages, the login
    form's fields."""
    port = load(drafted / "port.py")
    routes = legacy_routes(legacy.app)
    assert len(routes) == 13

    form = {"username": "ann", "password": "pw", "title": "Hi", "body": "x"}

    async def answers() -> set[int]:
        return {
            (await ask(port.app, r.method, example_path(r), data=form)).status_code for r in routes
        }

    assert asyncio.run(answers()) == {501}
    delete = port.app.openapi()["paths"]["/{id}/delete"]["post"]["responses"]
    assert set(delete) == {"302", "403", "404"}
    assert delete["302"]["description"] == "Redirect to / or /auth/login"
    source = (drafted / "port.py").read_text()
    assert "username: Annotated[str, Form()]" in source
    assert "app.add_middleware(LegacySessionMiddleware, legacy=legacy_app)" in source
    assert "implicit_routes(app.router.routes, legacy=legacy_app)" in source


def test_the_drafted_corpus_passes_legacy_against_itself(drafted: Path) -> None:
    """Every corpus file drafted (the corpus's cases and the made-up requests, per endpoint)
    passes a contract run of legacy against itself, the reset hook emptying the database."""
    files = sorted(p.name for p in (drafted / "corpus").iterdir())
    # A case goes in one file: those that log in go on to other endpoints (POST /auth/login's).
    assert len(files) == 12
    assert "scaffold_post_id_delete.yaml" in files
    run = strangler(
        "contract", "run", "--config", FLASKR, "--migrated", NOTHING,
        "--corpus", str(drafted / "corpus"), "--no-fuzz",
    )  # fmt: skip
    assert run.exit_code == 0, run.output
    assert " 0 failed" in run.output


def legacy_login() -> dict[str, str]:
    """Registers ann, logs her in and writes a post, all on flaskr: her session cookie."""
    legacy.reset()
    transport = httpx.WSGITransport(app=legacy.app)
    with httpx.Client(transport=transport, base_url="http://testserver") as client:
        form = {"username": "ann", "password": "pw"}
        client.post("/auth/register", data=form)
        assert client.post("/auth/login", data=form).status_code == 302
        assert client.post("/create", data={"title": "Hi", "body": "x"}).status_code == 302
        return {"Cookie": f"session={client.cookies['session']}"}


def test_the_completed_endpoint_honours_a_session_made_by_flaskrs_login() -> None:
    """flaskr's login (on legacy) is honoured by the port's delete: the post is deleted and the
    answer is Flask's redirect; without the cookie the port sends the visitor to log in."""
    cookies = legacy_login()
    deleted = asyncio.run(ask(completed.app, "POST", "/1/delete", headers=cookies))
    assert deleted.status_code == 302
    assert deleted.headers["location"] == "/"
    assert deleted.headers["vary"] == "Cookie"
    again = asyncio.run(ask(completed.app, "POST", "/1/delete", headers=cookies))
    assert again.status_code == 404
    assert "Post id 1 doesn&#39;t exist." in again.text
    anonymous = asyncio.run(ask(completed.app, "POST", "/1/delete"))
    assert anonymous.headers["location"] == "/auth/login"


def test_the_completed_ports_options_answer_runs_flaskrs_request_hooks() -> None:
    """OPTIONS on the port's delete answers as flaskr's automatic OPTIONS, `Vary: Cookie`
    included (flaskr's before_app_request reads the session)."""
    transport = httpx.WSGITransport(app=legacy.app)
    with httpx.Client(transport=transport, base_url="http://testserver") as client:
        flask = client.options("/1/delete")
    port = asyncio.run(ask(completed.app, "OPTIONS", "/1/delete"))
    assert (port.status_code, port.content) == (flask.status_code, flask.content) == (200, b"")
    assert port.headers["vary"] == flask.headers["vary"] == "Cookie"
    assert set(port.headers["allow"].split(", ")) == set(flask.headers["allow"].split(", "))


def test_the_mixed_backend_scenario_passes_with_the_completed_port_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The delete cases, logged in on legacy and deleting on either backend in every order,
    pass against the completed port, and fail against its draft still answering 501."""
    passed = strangler("contract", "run", "--config", FLASKR, "-k", "delete-*")
    assert passed.exit_code == 0, passed.output
    assert "4 passed, 0 failed" in passed.output
    scaffold(FLASKR, tmp_path, "POST /{id}/delete", "--module", "flaskr_delete_draft")
    monkeypatch.syspath_prepend(str(tmp_path))
    unwritten = strangler(
        "contract", "run", "--config", FLASKR, "-k", "delete-own-post",
        "--migrated", "flaskr_delete_draft:app",
    )  # fmt: skip
    assert unwritten.exit_code != 0, unwritten.output
    assert "501" in unwritten.output


def test_the_unified_openapi_documents_the_answers_legacy_gives() -> None:
    """`strangler openapi` (the port's operations and legacy's) lists for the completed delete
    exactly the statuses legacy answers, and not the 422 FastAPI would add on its own."""
    result = strangler("openapi", "--config", FLASKR)
    assert result.exit_code == 0, result.output
    document = json.loads(result.output[result.output.index("{") :])
    assert set(document["paths"]["/{id}/delete"]["post"]["responses"]) == {"302", "403", "404"}
