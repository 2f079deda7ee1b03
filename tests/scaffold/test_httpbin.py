"""`strangler scaffold` on httpbin (a Flask app nobody here wrote): every endpoint drafted, the
draft serving 501s, its models validating legacy's answers, its OpenAPI listing every status
legacy gave, and its corpus passing legacy against itself (#26)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml

from strangler.scaffold import capture
from strangler.scaffold.routes import legacy_routes, select
from strangler.settings import import_string, load_settings
from tests.scaffold.drafts import HTTPBIN, NOTHING, ask, example_path, load, scaffold, strangler

pytestmark = pytest.mark.filterwarnings("ignore:.*flasgger:UserWarning")

CHOSEN = ["GET /get", "GET /uuid", "GET /status/{codes}", "POST /post", "GET /headers"]
EXAMPLES = [
    "GET /get?page=2&q=x",
    "GET /get?page=3",
    "GET /status/404",
    "GET /status/418",
    'POST /post {"name": "ann", "tags": ["a"]}',
]


@pytest.fixture(scope="module")
def drafted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """httpbin's chosen endpoints scaffolded from the examples (and made-up requests)."""
    out = tmp_path_factory.mktemp("httpbin")
    args = [arg for example in EXAMPLES for arg in ("--example", example)]
    scaffold(HTTPBIN, out, *CHOSEN, *args, "--capture", "--no-corpus")
    return out


def test_every_endpoint_is_drafted_and_answers_501(tmp_path: Path) -> None:
    """`scaffold all` drafts a route for each of httpbin's endpoints; the draft imports and
    answers each with Werkzeug's 501 page, and an unknown path with legacy's 404 page."""
    scaffold(HTTPBIN, tmp_path, "all", "--no-corpus")
    port = load(tmp_path / "port.py")
    routes = legacy_routes(import_string("httpbin:app"))
    assert len(routes) > 50

    async def answers() -> dict[str, int]:
        return {r.key: (await ask(port.app, r.method, example_path(r))).status_code for r in routes}

    assert set(asyncio.run(answers()).values()) == {501}
    missing = asyncio.run(ask(port.app, "GET", "/no/such/path"))
    assert missing.status_code == 404
    assert "<title>404 Not Found</title>" in missing.text


def recorded(out: Path) -> capture.Captured:
    """What legacy answered to the drafted endpoints' requests, played again here."""
    settings = load_settings(Path(HTTPBIN))
    routes = list(select(legacy_routes(import_string("httpbin:app")), CHOSEN))
    cases = [capture.example_case(e) for e in EXAMPLES]
    return capture.capture(settings, routes, cases, synthesize=True)


def test_the_models_validate_every_recorded_answer(drafted: Path) -> None:
    """Each JSON answer legacy gave validates against the model its route documents for that
    status; the query arguments seen became Flask-parsed `query_arg`s, the body a model."""
    port = load(drafted / "port.py")
    routes = {
        (next(iter(r.methods)), r.path): r for r in port.app.routes if hasattr(r, "responses")
    }
    captured = recorded(drafted)
    checked = 0
    for key, samples in captured.samples.items():
        method, _, template = key.partition(" ")
        route = next(
            r for (m, p), r in routes.items() if m == method and p.replace(":int", "") == template
        )
        for sample in samples:
            if sample.json is not capture.MISSING:
                route.responses[sample.answer.status]["model"].model_validate(sample.json)
                checked += 1
    assert checked == 5  # /get twice, /uuid, /post, /headers
    source = (drafted / "port.py").read_text()
    assert 'page: Any = query_arg("page", type=int)' in source
    assert "body: Annotated[PostPostBody, Body()]" in source
    assert "uuid: uuid.UUID" in source


def test_the_openapi_lists_every_status_legacy_gave(drafted: Path) -> None:
    """The drafted operations document each status the samples showed (errors included), with
    the media type legacy answered it in, and no status legacy never gave."""
    port = load(drafted / "port.py")
    paths = port.app.openapi()["paths"]
    captured = recorded(drafted)
    for key, samples in captured.samples.items():
        method, _, template = key.partition(" ")
        documented = paths[template][method.lower()]["responses"]
        assert set(documented) == {str(s.answer.status) for s in samples}, key
    status = paths["/status/{codes}"]["get"]["responses"]
    assert {"404", "418"} <= set(status)
    assert "text/html" in status["404"]["content"]


def test_the_corpus_passes_legacy_against_itself(drafted: Path) -> None:
    """The corpus files drafted beside the port pass a contract run of legacy against itself:
    what differed between two plays (the uuid) is ignored, nothing else."""
    uuid_file = yaml.safe_load((drafted / "corpus" / "scaffold_get_uuid.yaml").read_text())
    assert uuid_file["compare"] == {"ignore": ["$.uuid"]}
    run = strangler(
        "contract", "run", "--config", HTTPBIN, "--migrated", NOTHING,
        "--corpus", str(drafted / "corpus"), "--no-fuzz",
    )  # fmt: skip
    assert run.exit_code == 0, run.output
    assert "0 failed" in run.output


def test_recorded_exports_are_played_on_legacy(tmp_path: Path) -> None:
    """A `strangler shadow export` file (requests only: shadowing keeps no answers) is played on
    legacy: its requests type the draft and make its corpus file."""
    exported = tmp_path / "shadow_get_get.yaml"
    exported.write_text(
        "endpoint: GET /get\n"
        "cases:\n"
        "- {name: recorded-get-get-1, method: GET, path: /get, query: {limit: '5'}}\n"
    )
    out = tmp_path / "out"
    result = scaffold(HTTPBIN, out, "GET /get", "--recorded", str(exported), "--no-corpus")
    assert "GET /get: 1 sample(s), answered 200" in result.output
    assert 'limit: Any = query_arg("limit", type=int)' in (out / "port.py").read_text()
    corpus = yaml.safe_load((out / "corpus" / "scaffold_get_get.yaml").read_text())
    assert [c["name"] for c in corpus["cases"]] == ["scaffold-recorded-get-get-1"]


def test_an_unknown_endpoint_is_refused_with_how_to_list_them(tmp_path: Path) -> None:
    """Naming no endpoint legacy has is one line on stderr, exit 2, and writes nothing."""
    result = strangler("scaffold", "--config", HTTPBIN, "--out", str(tmp_path), "GET /nope")
    assert result.exit_code == 2
    assert "no such endpoint" in result.output
    assert "strangler endpoints" in result.output
    assert not list(tmp_path.iterdir())
