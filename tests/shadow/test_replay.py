"""Exported cases that replay (strangler.shadow.replay): each request once, with the corpus's
login where their cases send `${token}`, or a file that says it is not ready (#23)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import yaml

from strangler.assembly import create_gateway, shadow_tap
from strangler.comparison.corpus import load_file
from strangler.settings import import_string, load_settings
from strangler.shadow.record import corpus_files
from strangler.shadow.replay import Corpus, complete, document, fold, used
from tests.support.waiting import wait_until_async

CORS_PAIR = Path(__file__).resolve().parents[1] / "test_apps" / "cors_pair"
LOGIN = {
    "name": "login",
    "method": "POST",
    "path": "/login",
    "json": {"username": "admin", "password": "password"},
    "capture": {"token": "$.token"},
}


def predict(first: int, name: str, note: str = "differs at $.prediction") -> dict[str, Any]:
    return {
        "name": name,
        "description": note,
        "method": "POST",
        "path": "/predict",
        "headers": {"authorization": "Bearer ${token}"},
        "json": {"features": [first, 2, 3]},
    }


def write(folder: Path, name: str, document: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def a_corpus(folder: Path) -> Path:
    """The endpoint's own file logs in before its cases and compares by its own rules."""
    return write(
        folder,
        "predict.yaml",
        {
            "endpoint": "POST /predict",
            "compare": {"ignore": ["$.request_id"]},
            "before": [LOGIN],
            "cases": [{"name": "predict-ok", "method": "POST", "path": "/predict"}],
        },
    )


def test_the_same_request_is_kept_once_saying_how_often_it_was_seen() -> None:
    """Two mismatches and a recorded sample of one request are one case, the first's name
    kept, with where each differed and how often; another request stays apart."""
    cases = [
        predict(7, "shadow-1"),
        predict(7, "shadow-2", "differs at $.prediction, $.cached"),
        predict(1, "shadow-3"),
        {**predict(7, "recorded-1"), "description": ""},
    ]
    folded = fold(cases)
    assert [c["name"] for c in folded] == ["shadow-1", "shadow-3"]
    assert folded[0]["description"] == (
        "differs at $.prediction; differs at $.prediction, $.cached (seen 3 times)"
    )
    assert folded[1]["description"] == "differs at $.prediction"


def test_the_values_a_case_sends_are_found_anywhere_in_it() -> None:
    """`${name}` in headers, bodies and paths are what a case needs captured."""
    case = {"path": "/a/${id}", "headers": {"authorization": "Bearer ${token}"}, "json": [1]}
    assert used(case) == {"id", "token"}


def test_the_gateway_export_folds_cases_and_says_a_token_needs_a_login() -> None:
    """Without the corpus, the file of cases sending `${token}` keeps its plain name (the
    CLI completes it) and its first lines say it is not ready to run, and how to make it."""
    endpoint = {
        "endpoint": "POST /predict",
        "last_mismatches": [{"case": predict(7, "s-1")}, {"case": predict(7, "s-2")}],
        "recorded": [],
    }
    files = corpus_files([endpoint], recorded=False)
    text = files["shadow_post_predict.yaml"]
    assert "NOT READY TO RUN: its cases send ${token}" in text
    assert "before:" in text  # how to add one
    assert [c["name"] for c in yaml.safe_load(text)["cases"]] == ["s-1"]


def test_an_export_takes_the_endpoint_file_s_login_and_rules(tmp_path: Path) -> None:
    """The endpoint's own corpus file lends its `before:` (as written) and `compare:`: the
    exported file loads with the login first, capturing the token its case sends."""
    source = a_corpus(tmp_path / "corpus")
    made = document("POST /predict", [predict(7, "s-1")], Corpus.read(tmp_path / "corpus"))
    assert made.ready
    assert made.name == "shadow_post_predict.yaml"
    assert str(source) in made.text
    assert str(source) in made.note
    path = tmp_path / "found" / made.name
    path.parent.mkdir()
    path.write_text(made.text)
    (case,) = load_file(path).cases
    assert [s.request.target for s in case.steps] == ["POST /login", "POST /predict"]
    assert case.steps[0].capture == {"token": "$.token"}
    assert case.rules.ignore == ("$.request_id",)


def test_a_login_of_another_file_serves_when_the_endpoint_s_file_has_none(tmp_path: Path) -> None:
    """An endpoint without a corpus file of its own takes the first `before:` that captures
    what its cases send; one that captures something else is passed over."""
    write(
        tmp_path,
        "a_other.yaml",
        {"before": [{**LOGIN, "capture": {"sid": "$.sid"}}], "cases": [{"name": "a"}]},
    )
    write(
        tmp_path,
        "b_items.yaml",
        {"endpoint": "GET /items", "before": [LOGIN], "cases": [{"name": "b"}]},
    )
    made = document("POST /predict", [predict(7, "s-1")], Corpus.read(tmp_path))
    assert made.ready
    assert yaml.safe_load(made.text)["before"] == [LOGIN]
    assert "compare" not in yaml.safe_load(made.text)


def test_a_corpus_that_calls_the_token_otherwise_gets_its_own_name(tmp_path: Path) -> None:
    """A corpus whose login captures `jwt` and sends `Bearer ${jwt}` gets cases sending
    `${jwt}`."""
    write(
        tmp_path,
        "predict.yaml",
        {
            "endpoint": "POST /predict",
            "before": [{**LOGIN, "capture": {"jwt": "$.token"}}],
            "defaults": {"headers": {"Authorization": "Bearer ${jwt}"}},
            "cases": [{"name": "a"}],
        },
    )
    made = document("POST /predict", [predict(7, "s-1")], Corpus.read(tmp_path))
    assert made.ready
    assert yaml.safe_load(made.text)["cases"][0]["headers"] == {"authorization": "Bearer ${jwt}"}


def test_without_a_login_the_file_is_named_not_to_run_and_says_how_to_add_one(
    tmp_path: Path,
) -> None:
    """No corpus step captures the token: the file is `_shadow_….yaml` (skipped by a contract
    run), its note names the missing value and the rename."""
    write(tmp_path, "health.yaml", {"endpoint": "GET /health", "cases": [{"name": "h"}]})
    made = document("POST /predict", [predict(7, "s-1")], Corpus.read(tmp_path))
    assert not made.ready
    assert made.name == "_shadow_post_predict.yaml"
    assert "${token}" in made.note
    assert "rename it shadow_post_predict.yaml" in made.note
    assert "then rename this file shadow_post_predict.yaml" in made.text


def test_completing_keeps_a_file_that_needs_nothing_as_it_is(tmp_path: Path) -> None:
    """A gateway's file without `${…}` (or with its own `before:`) is written as it came;
    one that needs a login gets the corpus's."""
    corpus = Corpus.read(tmp_path / "corpus")
    assert complete("x.yaml", "cases: []\n", corpus).text == "cases: []\n"
    a_corpus(tmp_path / "corpus")
    corpus = Corpus.read(tmp_path / "corpus")
    gateway = corpus_files(
        [{"endpoint": "POST /predict", "last_mismatches": [{"case": predict(7, "s")}]}], False
    )
    made = complete("shadow_post_predict.yaml", gateway["shadow_post_predict.yaml"], corpus)
    assert made.ready
    assert "NOT READY" not in made.text
    assert yaml.safe_load(made.text)["before"] == [LOGIN]
    assert complete(made.name, made.text, corpus).text == made.text


async def test_exported_cases_leave_out_the_request_id_header_the_settings_name() -> None:
    """A gateway whose request id header is `X-Correlation-ID` exports cases without it (made
    per request: replayed, it would only repeat an old id), keeping the client's headers (#24)."""
    settings = load_settings(
        CORS_PAIR / "strangler.toml",
        migrated="tests.test_apps.cors_pair.news_migrated:adds_cache",  # differs: kept
        request_id_header="X-Correlation-ID",
        shadow_max_cpu=9,  # the test's own client keeps this process busy
    )
    tap = shadow_tap(settings)
    gateway = create_gateway(
        import_string(settings.legacy, settings.root),
        import_string(settings.migrated, settings.root),
        shadow=tap,
        request_id_header=settings.request_id_header,
    )
    try:
        gateway.runtime.service.shadow("GET /articles", 100, actor="test", reason="export")
        gateway.watcher.refresh()
        transport = httpx.ASGITransport(app=gateway)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            answer = await client.get("/articles", headers={"Origin": "https://app.example"})
        assert answer.headers["x-correlation-id"]  # the gateway did make one
        await wait_until_async(
            lambda: tap.records["GET /articles"].mismatched >= 1, what="the mismatch"
        )
        exported = yaml.safe_load(tap.export()["shadow_get_articles.yaml"])
    finally:
        gateway.close()
    (case,) = exported["cases"]
    assert case["headers"] == {"accept": "*/*", "origin": "https://app.example"}
