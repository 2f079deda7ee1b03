"""`strangler shadow …` on the store (strangler.cli.shadow): shadowing set, kept across a flip,
refused for a POST not declared free of side effects, carried by export, import and restore."""

from __future__ import annotations

import contextlib
import http.server
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from strangler.cli.main import main
from strangler.comparison.corpus import corpus_files as corpus_paths
from strangler.comparison.corpus import load_file
from strangler.flags.model import Flag
from strangler.flags.sqlite import SQLiteFlagStore
from strangler.types import Mode


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "strangler.toml"
    path.write_text(
        'legacy = "tests.test_apps.shadow_pair:legacy"\n'
        'migrated = "tests.test_apps.shadow_pair:migrated"\n'
        'flags = "flags.db"\n'
    )
    runner = CliRunner()
    assert runner.invoke(main, ["flags", "init", "--config", str(path)]).exit_code == 0
    return path


def strangler(config: Path, *args: str) -> object:
    return CliRunner().invoke(main, [*args, "--config", str(config)])


def test_the_cli_sets_shadowing_keeps_it_across_a_flip_and_refuses_unsafe_posts(
    config: Path,
) -> None:
    result = strangler(config, "shadow", "set", "GET /items/{item_id}", "10", "-m", "watch")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "legacy, shadow 10%" in result.output  # type: ignore[attr-defined]
    flip = strangler(config, "flags", "set", "GET /items/{item_id}", "migrated", "-m", "cut")
    assert "-> migrated, shadow 10%" in flip.output  # type: ignore[attr-defined]
    refused = strangler(config, "shadow", "set", "POST /orders", "10", "-m", "watch")
    assert refused.exit_code == 2  # type: ignore[attr-defined]
    assert "--side-effect-free" in refused.output  # type: ignore[attr-defined]
    declared = strangler(
        config, "shadow", "set", "POST /echo", "10", "--side-effect-free", "pure", "-m", "w"
    )
    assert declared.exit_code == 0, declared.output  # type: ignore[attr-defined]
    report = strangler(config, "shadow", "report")  # from the store: no gateway runs
    assert report.exit_code == 0, report.output  # type: ignore[attr-defined]
    assert "0 worker(s) reporting" in report.output  # type: ignore[attr-defined]


def test_the_report_opens_with_readable_lines_not_a_python_dict(config: Path) -> None:
    """`shadow report` opens with what is shadowed, one endpoint a line as `flags list` words
    it, not a raw Python dict of the flags (#24)."""
    strangler(config, "shadow", "set", "GET /items/{item_id}", "10", "-m", "watch")
    strangler(config, "shadow", "set", "POST /echo", "25", "--side-effect-free", "pure", "-m", "w")
    report = strangler(config, "shadow", "report")
    assert report.exit_code == 0, report.output  # type: ignore[attr-defined]
    lines = report.output.splitlines()  # type: ignore[attr-defined]
    assert lines[:3] == [
        "2 endpoint(s) shadowed; 0 worker(s) reporting",
        "  GET /items/{item_id}: legacy, shadow 10%",
        "  POST /echo: legacy, shadow 25% (side-effect free: pure)",
    ]
    assert "'mode'" not in report.output  # type: ignore[attr-defined]


def test_export_import_and_restore_carry_the_shadow_share(config: Path, tmp_path: Path) -> None:
    """A flags file and a backup keep shadow shares; an entry without one leaves it alone."""
    free = ("--side-effect-free", "echoes, stores nothing")
    strangler(config, "shadow", "set", "POST /echo", "25", *free, "-m", "watch")
    exported = tmp_path / "flags.yaml"
    assert strangler(config, "flags", "export", str(exported)).exit_code == 0  # type: ignore[attr-defined]
    text = exported.read_text()
    expected = (
        "POST /echo: {mode: legacy, shadow: 25.0, side_effect_free: 'echoes, stores nothing'}"
    )
    assert expected in text
    backup = tmp_path / "backup.db"
    assert strangler(config, "flags", "backup", str(backup)).exit_code == 0  # type: ignore[attr-defined]
    strangler(config, "shadow", "set", "POST /echo", "0", "-m", "stop")
    restored = strangler(config, "flags", "restore", str(backup), "-m", "undo")
    assert restored.exit_code == 0, restored.output  # type: ignore[attr-defined]
    store = SQLiteFlagStore(config.parent / "flags.db")
    assert store.snapshot().flags["POST /echo"].shadow == 25.0
    strangler(config, "shadow", "set", "POST /echo", "0", "-m", "stop")
    imported = strangler(config, "flags", "import", str(exported))
    assert imported.exit_code == 0, imported.output  # type: ignore[attr-defined]
    assert store.snapshot().flags["POST /echo"] == Flag(
        Mode.LEGACY, 0.0, 25.0, "echoes, stores nothing"
    )
    exported.write_text("POST /echo: migrated\n")
    strangler(config, "flags", "import", str(exported))
    assert store.snapshot().flags["POST /echo"].shadow == 25.0  # kept


@contextlib.contextmanager
def answering(files: object) -> Iterator[tuple[str, list[str]]]:
    """A real HTTP server on loopback whose export answer is `files`; yields its URL and the
    admin tokens it was sent."""
    tokens: list[str] = []

    class Export(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # http.server calls it by this name
            tokens.append(self.headers.get("X-Strangler-Admin-Token", ""))
            body = json.dumps({"files": files}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Export)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", tokens
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize(
    "name",
    ["../../escaped.yaml", "ABSOLUTE", "sub/escaped.yaml", "..", "escaped\\x.yaml", ".yaml"],
)
def test_export_from_a_gateway_refuses_file_names_that_leave_the_folder(
    tmp_path: Path, name: str
) -> None:
    """A gateway answering `../`, absolute or nested file names gets an error naming the file,
    and nothing is written, inside the folder or out of it (#22)."""
    outside = tmp_path / "outside"
    folder = outside / "deep" / "found"
    if name == "ABSOLUTE":
        name = str(outside / "escaped.yaml")
    files = {"shadow_get_items.yaml": "cases: []\n", name: "endpoint: x\n"}
    with answering(files) as (url, tokens):
        result = CliRunner().invoke(
            main,
            ["shadow", "export", str(folder), "--url", url],
            env={"STRANGLER_ADMIN_TOKEN": "the-admin-token"},
        )
    assert tokens == ["the-admin-token"]  # the CLI did call the fake gateway
    assert result.exit_code == 2, result.output
    assert repr(name) in result.output
    assert "nothing written" in result.output
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert written == []


def test_export_from_a_gateway_writes_plain_corpus_file_names(tmp_path: Path) -> None:
    """The names a gateway gives (`shadow_<endpoint>.yaml`) are written into the folder."""
    with answering({"shadow_get_items_item_id.yaml": "cases: []\n"}) as (url, _):
        result = CliRunner().invoke(main, ["shadow", "export", str(tmp_path / "f"), "--url", url])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "f" / "shadow_get_items_item_id.yaml").read_text() == "cases: []\n"


def test_export_from_a_gateway_refuses_an_answer_that_is_not_files(tmp_path: Path) -> None:
    """An export answer that is not a table of file names to texts is refused in one line."""
    with answering(["../x.yaml"]) as (url, _):
        result = CliRunner().invoke(main, ["shadow", "export", str(tmp_path / "f"), "--url", url])
    assert result.exit_code == 2, result.output
    assert "not a table of corpus files" in result.output
    assert not (tmp_path / "f").exists()


def gateway_export() -> dict[str, str]:
    """What a gateway exports of two mismatches of one /predict request sent with a token."""
    from strangler.shadow.record import corpus_files

    case = {
        "name": "shadow-post-predict-1",
        "description": "differs at $.prediction",
        "method": "POST",
        "path": "/predict",
        "headers": {"authorization": "Bearer ${token}"},
        "json": {"features": [7, 2, 3]},
    }
    mismatches = [{"case": case}, {"case": {**case, "name": "shadow-post-predict-2"}}]
    return corpus_files([{"endpoint": "POST /predict", "last_mismatches": mismatches}], False)


def test_export_adds_the_corpus_login_the_cases_need(tmp_path: Path) -> None:
    """Cases sending `Bearer ${token}` are written with the `before:` login of the endpoint's
    corpus file, the same request once, and the command says where the login came from (#23)."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    login = "{method: POST, path: /login, json: {user: a}, capture: {token: $.token}}"
    (corpus / "predict.yaml").write_text(
        f"endpoint: POST /predict\nbefore:\n  - {login}\ncases:\n  - {{name: ok}}\n"
    )
    found = tmp_path / "found"
    with answering(gateway_export()) as (url, _):
        result = CliRunner().invoke(
            main, ["shadow", "export", str(found), "--url", url, "--corpus", str(corpus)]
        )
    assert result.exit_code == 0, result.output
    assert f"logged in by the `before:` of {corpus / 'predict.yaml'}" in result.output
    written = load_file(found / "shadow_post_predict.yaml")
    (case,) = written.cases
    assert [s.request.target for s in case.steps] == ["POST /login", "POST /predict"]


def test_export_without_a_login_writes_a_file_the_run_skips_and_says_why(tmp_path: Path) -> None:
    """No corpus step captures `${token}`: the file is written as `_shadow_….yaml` (which a
    contract run skips, rather than fail each case for want of a token), and the command and
    the file say what to add (#23)."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "health.yaml").write_text("endpoint: GET /health\ncases:\n  - {name: h}\n")
    found = tmp_path / "found"
    with answering(gateway_export()) as (url, _):
        result = CliRunner().invoke(
            main, ["shadow", "export", str(found), "--url", url, "--corpus", str(corpus)]
        )
    assert result.exit_code == 0, result.output
    assert "NOT READY: its cases send ${token}" in result.output
    assert [p.name for p in found.iterdir()] == ["_shadow_post_predict.yaml"]
    assert corpus_paths(found) == []
    assert "before:" in (found / "_shadow_post_predict.yaml").read_text()


def kept_mismatch(config: Path) -> None:
    """A worker's fold of one mismatch into the store beside `config` (as a gateway's)."""
    from strangler.shadow import findings
    from tests.shadow.test_findings import ITEM, mismatch, worker_report

    store = SQLiteFlagStore(config.parent / "flags.db")
    found = worker_report(10, [mismatch("2024-01-01T00:00:01")], raced=3)
    change = findings.delta(found, None)
    assert change is not None
    store.update_findings(ITEM, lambda doc: findings.fold(doc, change, ITEM))
    store.close()


def test_the_cli_reports_acknowledges_and_clears_the_findings_kept(config: Path) -> None:
    """`shadow report` reads the findings kept in the store with no gateway running; `shadow
    ack` marks them seen (who, why), `shadow clear` forgets them (#23)."""
    kept_mismatch(config)
    report = strangler(config, "shadow", "report")
    assert report.exit_code == 0, report.output  # type: ignore[attr-defined]
    assert "$.name" in report.output  # type: ignore[attr-defined]
    lines = report.output.splitlines()  # type: ignore[attr-defined]
    header, row = (re.split(r"\s{2,}", line.strip()) for line in lines[1:3])
    assert dict(zip(header, row, strict=True))["RACED"] == "3"  # differed, proved nothing
    acked = strangler(
        config, "shadow", "ack", "GET /items/{item_id}", "-m", "known", "--actor", "ann"
    )
    assert acked.exit_code == 0, acked.output  # type: ignore[attr-defined]
    assert "1 mismatch(es) acknowledged by ann" in acked.output  # type: ignore[attr-defined]
    report = strangler(config, "shadow", "report")
    assert "acknowledged by ann" in report.output  # type: ignore[attr-defined]
    assert "(known); 0 mismatched since" in report.output  # type: ignore[attr-defined]
    unknown = strangler(config, "shadow", "ack", "GET /nope", "-m", "x")
    assert unknown.exit_code != 0  # type: ignore[attr-defined]
    assert "no shadow findings are kept for 'GET /nope'" in unknown.output  # type: ignore[attr-defined]
    cleared = strangler(config, "shadow", "clear", "-m", "fixed", "--actor", "bob")
    assert cleared.exit_code == 0, cleared.output  # type: ignore[attr-defined]
    assert "GET /items/{item_id}: findings cleared by bob" in cleared.output  # type: ignore[attr-defined]
    report = strangler(config, "shadow", "report")
    assert "no request shadowed yet" in report.output  # type: ignore[attr-defined]
