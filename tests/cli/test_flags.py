"""`strangler endpoints` and `strangler flags …` (strangler.cli.flags) against a local SQLite
store, configured by a strangler.toml; where the apps cannot be imported, too."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from strangler.cli.main import main
from strangler.flags import service
from strangler.flags.inventory import publish_inventory
from strangler.flags.store import open_store
from strangler.routing.inventory import discover
from tests.test_apps import pair


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "strangler.toml"
    path.write_text(
        'legacy = "tests.test_apps.pair:legacy"\n'
        'migrated = "tests.test_apps.pair:migrated"\n'
        'flags = "var/flags.db"\n'
    )
    assert strangler(path, "flags", "init").exit_code == 0
    return path


def strangler(config: Path, *args: str) -> Result:
    """Runs `strangler ARGS --config CONFIG` in process."""
    return CliRunner().invoke(main, [*args, "--config", str(config)], catch_exceptions=False)


def test_endpoints_lists_both_apps(config: Path) -> None:
    """`strangler endpoints` shows every endpoint, who serves it and where it routes."""
    result = strangler(config, "endpoints")
    assert result.exit_code == 0
    assert "GET /hello" in result.output
    assert "both" in result.output
    assert "GET /migrated-only" in result.output


def test_set_canary_and_history(config: Path) -> None:
    """set, canary and history work on the store file named in the config, and are audited."""
    assert (
        strangler(config, "flags", "set", "GET /hello", "migrated", "-m", "ported").exit_code == 0
    )
    result = strangler(
        config, "flags", "canary", "GET /hello", "25", "-m", "careful", "--actor", "ann"
    )
    assert result.exit_code == 0
    assert "GET /hello: migrated -> canary 25%" in result.output
    listed = strangler(config, "flags", "list")
    assert listed.output.splitlines()[0] == "flag table version 2"
    assert "GET /hello  canary 25%" in listed.output
    assert "GET /migrated-only" not in listed.output  # unflagged: `strangler endpoints` shows it
    history = strangler(config, "flags", "history", "GET /hello")
    lines = history.output.strip().splitlines()
    assert len(lines) == 2
    assert "by ann: careful" in lines[0]
    assert (config.parent / "var" / "flags.db").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("flags", "set", "GET /nope", "migrated", "-m", "x"), "no endpoint 'GET /nope'"),
        (("flags", "set", "POST /hello", "migrated", "-m", "x"), "no migrated handler"),
        (("flags", "canary", "GET /hello", "150", "-m", "x"), "out of range"),
        (("flags", "set", "GET /hello", "canary", "-m", "x"), "needs a percentage"),
    ],
)
def test_invalid_changes_fail_with_a_clear_error(
    config: Path, args: tuple[str, ...], message: str
) -> None:
    """A refused change exits 2 with the reason, and the history stays empty."""
    result = strangler(config, *args)
    assert result.exit_code == 2
    assert message in result.output
    assert strangler(config, "flags", "history").output.strip() == ""


def test_set_requires_a_reason(config: Path) -> None:
    """Without --reason the change is refused by the command line itself."""
    result = strangler(config, "flags", "set", "GET /hello", "migrated")
    assert result.exit_code == 2
    assert "--reason" in result.output


def test_import_and_export_round_trip(config: Path, tmp_path: Path) -> None:
    """A flags file loads into the store, and exporting writes the same flags back."""
    flag_file = tmp_path / "flags.yaml"
    flag_file.write_text("GET /hello: canary 12.5\nGET /items/<id>: migrated\n")
    imported = strangler(config, "flags", "import", str(flag_file))
    assert "2 flag(s) changed" in imported.output
    again = strangler(config, "flags", "import", str(flag_file))
    assert "0 flag(s) changed" in again.output
    exported = tmp_path / "out.yaml"
    strangler(config, "flags", "export", str(exported))
    text = exported.read_text()
    assert "GET /hello: canary 12.5\n" in text
    assert "GET /items/{item_id}: migrated\n" in text


def test_import_checks_every_entry_before_writing_any(config: Path, tmp_path: Path) -> None:
    """A flags file with one bad entry changes nothing and names the file and the entry."""
    flag_file = tmp_path / "flags.yaml"
    flag_file.write_text("GET /hello: migrated\nPOST /hello: migrated\n")
    result = strangler(config, "flags", "import", str(flag_file))
    assert result.exit_code == 2
    assert "flags.yaml" in result.output
    assert "POST /hello" in result.output
    assert strangler(config, "flags", "history").output.strip() == ""


def test_missing_settings_say_what_to_set(tmp_path: Path) -> None:
    """A config without the apps tells the user which settings to add."""
    empty = tmp_path / "strangler.toml"
    empty.write_text('flags = "memory:"\n')
    result = strangler(empty, "endpoints")
    assert result.exit_code == 2
    assert "legacy and migrated" in result.output
    assert "MODULE:ATTR" in result.output


def test_unimportable_app_is_named(tmp_path: Path) -> None:
    """A MODULE:ATTR that does not import says which one and why."""
    config = tmp_path / "strangler.toml"
    config.write_text('legacy = "no_such_module:app"\nmigrated = "tests.test_apps.pair:migrated"\n')
    result = strangler(config, "endpoints", "--publish")
    assert result.exit_code == 2
    assert "cannot import 'no_such_module'" in result.output


def test_memory_store_is_refused_with_the_way_out(tmp_path: Path) -> None:
    """The CLI cannot reach a gateway's in-memory table, and says to use --url or SQLite."""
    config = tmp_path / "strangler.toml"
    config.write_text(
        'legacy = "tests.test_apps.pair:legacy"\nmigrated = "tests.test_apps.pair:migrated"\n'
        'flags = "memory:"\n'
    )
    result = strangler(config, "flags", "set", "GET /hello", "migrated", "-m", "x")
    assert result.exit_code == 2
    assert "--url" in result.output


def test_a_read_never_creates_the_store(tmp_path: Path) -> None:
    """Without `flags init`, a flag command says how to create the store and creates none (#11)."""
    path = tmp_path / "strangler.toml"
    path.write_text(
        'legacy = "tests.test_apps.pair:legacy"\nmigrated = "tests.test_apps.pair:migrated"\n'
        'flags = "flags.db"\n'
    )
    result = strangler(path, "flags", "list")
    assert result.exit_code == 2
    assert "no flag store at" in result.output
    assert "strangler flags init" in result.output
    assert not (tmp_path / "flags.db").exists()


def test_every_flag_command_can_name_its_store(config: Path, tmp_path: Path) -> None:
    """--flags acts on the store it names, not the settings' one (#11)."""
    other = str(tmp_path / "other.db")
    assert strangler(config, "flags", "init", "--flags", other).exit_code == 0
    changed = strangler(
        config, "flags", "set", "GET /hello", "migrated", "-m", "x", "--flags", other
    )
    assert changed.exit_code == 0, changed.output
    assert "GET /hello  migrated" in strangler(config, "flags", "list", "--flags", other).output
    assert "no flags set" in strangler(config, "flags", "list").output


def test_backup_then_restore_puts_the_flags_back_and_keeps_the_audit(
    config: Path, tmp_path: Path
) -> None:
    """A backup taken, flags changed, the backup restored: the table is as it was, and the
    audit trail holds every change, the restore's included."""
    strangler(config, "flags", "set", "GET /hello", "migrated", "-m", "ported")
    backup = tmp_path / "backup.db"
    assert strangler(config, "flags", "backup", str(backup)).exit_code == 0
    strangler(config, "flags", "canary", "GET /items/<id>", "10", "-m", "trying")
    strangler(config, "flags", "set", "GET /hello", "legacy", "-m", "oops")
    restored = strangler(config, "flags", "restore", str(backup), "-m", "undo the oops")
    assert restored.exit_code == 0, restored.output
    listed = " ".join(strangler(config, "flags", "list").output.split())
    assert "GET /hello migrated" in listed
    assert "GET /items/{item_id} legacy" in listed
    history = strangler(config, "flags", "history").output.splitlines()
    assert len(history) == 5
    assert "restored from backup.db (version 1): undo the oops" in history[0]
    again = strangler(config, "flags", "backup", str(backup))
    assert again.exit_code == 2
    assert "exists already" in again.output


def test_a_change_that_changes_nothing_writes_nothing(config: Path) -> None:
    """Setting a flag to what it is says so, and makes no new version or audit row (#11)."""
    strangler(config, "flags", "set", "GET /hello", "migrated", "-m", "ported")
    again = strangler(config, "flags", "set", "GET /hello", "migrated", "-m", "again")
    assert again.exit_code == 0
    assert "GET /hello: already migrated; nothing changed" in again.output
    assert strangler(config, "flags", "list").output.splitlines()[0] == "flag table version 1"
    assert len(strangler(config, "flags", "history").output.strip().splitlines()) == 1


def test_off_hides_a_one_app_endpoint_and_endpoints_says_so(config: Path) -> None:
    """`flags set ... off` on a migrated-only endpoint; the inventory shows it switched off."""
    result = strangler(config, "flags", "set", "GET /migrated-only", "off", "-m", "not yet")
    assert result.exit_code == 0, result.output
    listing = strangler(config, "endpoints").output
    assert "off (the other app answers 404; on: migrated)" in listing


def test_a_change_no_worker_will_read_is_warned_about(config: Path) -> None:
    """With no gateway reading the store, a change succeeds and says nobody follows it (#11)."""
    result = strangler(config, "flags", "set", "GET /hello", "migrated", "-m", "ship it")
    assert result.exit_code == 0
    assert "WARNING: no gateway worker has read this store in the last 10 s" in result.output


def test_restore_puts_a_one_app_endpoint_back_to_its_default(config: Path, tmp_path: Path) -> None:
    """An endpoint switched off after the backup goes back on: its only app, not legacy."""
    backup = tmp_path / "backup.db"
    assert strangler(config, "flags", "backup", str(backup)).exit_code == 0
    strangler(config, "flags", "set", "GET /migrated-only", "off", "-m", "hide it")
    restored = strangler(config, "flags", "restore", str(backup), "-m", "as before")
    assert restored.exit_code == 0, restored.output
    assert "GET /migrated-only: off -> migrated" in restored.output


PAIR = 'legacy = "tests.test_apps.pair:legacy"\nmigrated = "tests.test_apps.pair:migrated"\n'


def test_endpoints_publish_records_the_apps_endpoints_in_the_store(tmp_path: Path) -> None:
    """`endpoints --publish` imports both apps and records their endpoints in the store; the
    listing then says where they came from."""
    config = tmp_path / "strangler.toml"
    config.write_text(PAIR + 'flags = "flags.db"\n')
    open_store(tmp_path / "flags.db", create=True).version()  # a store nothing published to
    published = strangler(config, "endpoints", "--publish")
    assert published.exit_code == 0, published.output
    assert f"published 11 endpoint(s) to the flag store {tmp_path / 'flags.db'}" in published.output
    listing = strangler(config, "endpoints").output
    assert "GET /migrated-only" in listing
    assert "(the endpoints as published " in listing
    assert f"by {socket.gethostname()} (pid {os.getpid()})" in listing


@pytest.mark.parametrize(
    "args",
    [
        ("endpoints",),
        ("flags", "set", "GET /hello", "migrated", "-m", "x"),
        ("flags", "history", "GET /hello"),
        ("shadow", "set", "GET /hello", "10", "-m", "x"),
        ("rollout", "start", "GET /hello", "-m", "x"),
        ("status",),
    ],
)
def test_without_a_published_inventory_commands_say_how_to_publish_one(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    """On a store no gateway has published to, a command that needs the endpoints fails with
    one line naming both ways to publish them, and changes nothing."""
    config = tmp_path / "strangler.toml"
    config.write_text(PAIR + 'flags = "flags.db"\n')
    open_store(tmp_path / "flags.db", create=True).version()
    result = strangler(config, *args)
    assert result.exit_code == 2
    assert result.output.startswith("error: no endpoint inventory in the flag store ")
    assert "\n" not in result.output.strip()
    assert "`strangler serve`" in result.output
    assert "`strangler endpoints --publish`" in result.output
    assert open_store(tmp_path / "flags.db").version() == 0


def test_listing_and_auditing_flags_need_no_inventory(tmp_path: Path) -> None:
    """`flags list` and `flags history` name no endpoint: they work before anything is
    published."""
    config = tmp_path / "strangler.toml"
    config.write_text(PAIR + 'flags = "flags.db"\n')
    open_store(tmp_path / "flags.db", create=True).version()
    assert strangler(config, "flags", "list").output.startswith("flag table version 0")
    assert strangler(config, "flags", "history").exit_code == 0


# A module that fails to import as an app whose database driver is missing does.
UNIMPORTABLE = "raise ImportError(\"No module named 'psycopg'\", name='psycopg')\n"
# What a flag command must not load: the web frameworks, templates, YAML, the composition
# root, the HTTP client (only --url needs it), nor the user's apps.
HEAVY = ("flask", "werkzeug", "fastapi", "starlette", "jinja2", "yaml", "httpx", "service")


@pytest.fixture
def offline(tmp_path: Path) -> Path:
    """A project whose apps cannot be imported here, with a store its gateway published to."""
    (tmp_path / "service.py").write_text(UNIMPORTABLE)
    config = tmp_path / "strangler.toml"
    config.write_text(
        'legacy = "service:legacy"\nmigrated = "service:migrated"\nflags = "flags.db"\n'
    )
    store = open_store(tmp_path / "flags.db", create=True)
    publish_inventory(store, discover(pair.legacy, pair.migrated))
    store.close()
    return config


def cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real `strangler` command, in the project's folder."""
    command = [str(Path(sys.executable).parent / "strangler"), *args, "--config", str(config)]
    return subprocess.run(
        command, cwd=config.parent, capture_output=True, text=True, check=False, timeout=60
    )


def test_flag_commands_work_where_the_apps_cannot_be_imported(offline: Path) -> None:
    """With both apps unimportable (a missing driver), `strangler` sets, lists and audits
    flags and lists the endpoints from the store, and still refuses a name no app serves."""
    changed = cli(offline, "flags", "set", "GET /hello", "migrated", "-m", "roll back")
    assert changed.returncode == 0, changed.stderr
    assert "GET /hello: (unset) -> migrated" in changed.stdout
    listed = cli(offline, "flags", "list")
    assert "GET /hello  migrated" in listed.stdout, listed.stderr
    history = cli(offline, "flags", "history", "GET /hello")
    assert "roll back" in history.stdout, history.stderr
    assert "GET /migrated-only" in cli(offline, "endpoints").stdout
    refused = cli(offline, "flags", "set", "GET /nope", "migrated", "-m", "x")
    assert refused.returncode == 2
    assert "no endpoint 'GET /nope'" in refused.stderr
    needs_apps = cli(offline, "endpoints", "--publish")
    assert needs_apps.returncode == 2
    assert "cannot import 'service'" in needs_apps.stderr
    assert "psycopg" in needs_apps.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("flags", "set", "GET /hello", "canary", "10", "-m", "x"),
        ("flags", "list"),
        ("flags", "history"),
        ("endpoints",),
    ],
)
def test_a_flag_command_loads_no_framework_template_yaml_or_app(
    offline: Path, args: tuple[str, ...]
) -> None:
    """A flag command imports neither app, nor Flask, FastAPI, Jinja2, YAML, httpx nor the
    composition root: it needs only the store."""
    probe = (
        "import sys\n"
        "from strangler.cli.main import main\n"
        f"main({[*args, '--config', str(offline)]!r}, standalone_mode=False)\n"
        f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}"
        " or m == 'strangler.assembly')\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=offline.parent,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("option", ["--reason", "--actor"])
def test_a_reason_or_actor_too_long_is_refused_and_nothing_stored(
    config: Path, option: str
) -> None:
    """A 9 MB reason (or actor) is refused by the command with the limit, and nothing is
    written (#22: 20 such changes made a 189 MB store)."""
    args = ["flags", "set", "GET /hello", "migrated", "-m", "ok", option, "x" * 9_000_000]
    result = strangler(config, *args)
    assert result.exit_code == 2
    assert "keep it to 1,000" in result.output
    assert strangler(config, "flags", "list").output.splitlines()[0] == "flag table version 0"


def test_history_prints_control_characters_escaped(config: Path) -> None:
    """An actor or reason holding terminal escape sequences is printed with them escaped, so
    it cannot rewrite the operator's screen (#22)."""
    actor = "mallory\x1b]0;owned\x07\x1b[2J\x1b[1A"
    args = ["flags", "set", "GET /hello", "migrated", "-m", "line\rover\nnext", "--actor", actor]
    assert strangler(config, *args).exit_code == 0
    for command in (("flags", "history"), ("flags", "history", "GET /hello")):
        output = strangler(config, *command).output
        assert "\x1b" not in output
        assert "\x07" not in output
        assert "\r" not in output
        assert "by mallory\\x1b]0;owned\\x07\\x1b[2J\\x1b[1A: line\\x0dover\\x0anext" in output


def test_a_change_after_the_gateway_stopped_says_nobody_took_it(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker that reported seconds ago but never took the change is not counted as
    following it: the command warns that it did not take it (#22: killed gateway)."""
    monkeypatch.setattr(service, "FOLLOW_WAIT", 0.3)
    store = open_store(config.parent / "var" / "flags.db")
    store.note_reader("gateway:4242:dead", store.version())  # its last report, then killed
    store.close()
    result = strangler(config, "flags", "set", "GET /hello", "migrated", "-m", "ship it")
    assert result.exit_code == 0
    assert "taken by" not in result.output
    assert "they follow" not in result.output
    assert "WARNING: 1 gateway worker(s) heard from in the last 10 s did not take" in result.output
