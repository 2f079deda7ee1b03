"""Settings: where they are read from, in which order, and the errors that name the fix."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from strangler.errors import ConfigError
from strangler.serving.limits import Limits
from strangler.settings import Settings, load_settings, names, settings_from_env
from strangler.types import LOOPBACK

APPS = 'legacy = "a:app"\nmigrated = "b:app"\n'


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("strangler.toml", APPS + 'flags = "f.db"\n'),
        ("strangler.toml", "[tool.strangler]\n" + APPS + 'flags = "f.db"\n'),
        (
            "pyproject.toml",
            '[project]\nname = "x"\n\n[tool.strangler]\n' + APPS + 'flags = "f.db"\n',
        ),
    ],
)
def test_the_same_block_works_in_either_file(tmp_path: Path, name: str, text: str) -> None:
    """Top-level keys or a [tool.strangler] table in strangler.toml, or the table in pyproject."""
    (tmp_path / name).write_text(text)
    settings = load_settings(tmp_path / name)
    assert (settings.legacy, settings.migrated, settings.flags) == ("a:app", "b:app", "f.db")
    assert settings.path(settings.flags) == str(tmp_path / "f.db")


def test_environment_wins_over_the_file_and_options_over_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """STRANGLER_<NAME> overrides the file, typed as the setting; an option overrides it."""
    (tmp_path / "strangler.toml").write_text(APPS + 'flags = "file.db"\nlegacy_threads = 2\n')
    monkeypatch.setenv("STRANGLER_FLAGS", "env.db")
    monkeypatch.setenv("STRANGLER_LEGACY_THREADS", "16")
    monkeypatch.setenv("STRANGLER_FREEZE_GC", "no")
    settings = load_settings(tmp_path / "strangler.toml")
    assert (settings.flags, settings.legacy_threads, settings.freeze_gc) == ("env.db", 16, False)
    assert load_settings(tmp_path / "strangler.toml", flags="cli.db").flags == "cli.db"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "STRANGLER_LEGACY_THREADS",
            "many",
            "STRANGLER_LEGACY_THREADS=.many. is not a valid setting",
        ),
        ("STRANGLER_FREEZE_GC", "maybe", "STRANGLER_FREEZE_GC='maybe' is not a valid bool"),
    ],
)
def test_a_bad_environment_value_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    """A malformed variable is refused, naming the variable and the type it needs."""
    (tmp_path / "strangler.toml").write_text(APPS)
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=message):
        load_settings(tmp_path / "strangler.toml")


def test_unknown_keys_are_named(tmp_path: Path) -> None:
    """A misspelt setting is refused with the list of known ones."""
    (tmp_path / "strangler.toml").write_text(APPS + 'flgas = "x"\n')
    with pytest.raises(ConfigError, match="unknown setting"):
        load_settings(tmp_path / "strangler.toml")


# One STRANGLER_<NAME> value for every setting, and the value it becomes: a new setting needs a
# line here (test_every_setting_has_an_environment_case).
ENVIRONMENT = {
    "legacy": ("pkg.old:app", "pkg.old:app"),
    "migrated": ("pkg.new:app", "pkg.new:app"),
    "flags": ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
    "seed": ("", None),
    "sticky": ("header:X-User", "header:X-User"),
    "backend_header": ("", None),
    "admin_prefix": ("/ops", "/ops"),
    "legacy_threads": ("auto", None),
    "poll_interval": ("0.5", 0.5),
    "freeze_gc": ("0", False),
    "contracts": ("cases", "cases"),
    "ledger": ("cases/accepted.yaml", "cases/accepted.yaml"),
    "contract_reset": ("pkg.state:reset", "pkg.state:reset"),
    "contract_reset_force": ("true", True),
    "contract_reset_live": ("true", True),
    "contract_results": ("out.json", "out.json"),
    "legacy_quiet_days": ("3", 3.0),
    "fuzz_examples": ("50", 50),
    "fuzz_seed": ("-7", -7),
    "volatile_headers": ("date,etag", ["date", "etag"]),
    "max_header_bytes": ("8192", 8192),
    "max_headers": ("20", 20),
    "header_timeout": ("2.5", 2.5),
    "body_timeout": ("4", 4.0),
    "keep_alive_timeout": ("1", 1),
    "drain_timeout": ("0", 0),
    "max_connections": ("10", 10),
    "max_body": ("1000", 1000),
    "body_limits": ('{"POST /upload": 1048576}', {"POST /upload": 1048576}),
    "admin_max_body": ("4096", 4096),
    "legacy_queue": ("0", 0),
    "migrated_concurrency": ("9", 9),
    "shadow_concurrency": ("2", 2),
    "shadow_queue": ("3", 3),
    "shadow_timeout": ("0.25", 0.25),
    "shadow_max_body": ("512", 512),
    "shadow_max_cpu": ("1.5", 1.5),
    "shadow_redact": ('["*pin*", "$.items[*].code"]', ["*pin*", "$.items[*].code"]),
    "sandbox_databases": ("blog.db:engine,blog.db:reports", ["blog.db:engine", "blog.db:reports"]),
    "shadow_never_noise": ('["$.cached"]', ["$.cached"]),
    "metrics": ("yes", True),
    "tracing": ("1", True),
    "metrics_public": ("true", True),
    "metrics_port": ("9100", 9100),
    "metrics_host": ("0.0.0.0", "0.0.0.0"),
    "health_port": ("8081", 8081),
    "health_host": ("0.0.0.0", "0.0.0.0"),
    "request_log": ("stderr", "stderr"),
    "request_id_header": ("X-Trace", "X-Trace"),
    "guard": ("POST /predict, GET /items", ["POST /predict", "GET /items"]),
    "guard_max_error_rate": ("12.5", 12.5),
    "guard_window": ("30", 30.0),
    "guard_min_requests": ("5", 5),
    "webhooks": (
        "https://a.example/h, slack:https://b.example/s",
        ["https://a.example/h", "slack:https://b.example/s"],
    ),
    "dashboard_hosts": ('["admin.example.com"]', ["admin.example.com"]),
}


def test_every_setting_has_an_environment_case() -> None:
    """The table of environment cases names every declared setting, and nothing else."""
    assert sorted(ENVIRONMENT) == sorted(names())


@pytest.mark.parametrize(("name", "case"), ENVIRONMENT.items(), ids=list(ENVIRONMENT))
def test_every_setting_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, case: tuple[str, object]
) -> None:
    """STRANGLER_<NAME> sets the setting, converted to its declared type (lists as JSON or
    comma-separated, tables as JSON, "" as none)."""
    text, expected = case
    (tmp_path / "strangler.toml").write_text(APPS + 'legacy_threads = 3\nseed = "f.yaml"\n')
    monkeypatch.setenv("STRANGLER_" + name.upper(), text)
    settings = load_settings(tmp_path / "strangler.toml")
    assert getattr(settings, name) == expected
    assert type(getattr(settings, name)) is type(expected)


def test_a_list_may_be_json_or_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both spellings of a list give the same setting; an empty variable is an empty list."""
    comma = settings_from_env({"STRANGLER_SHADOW_REDACT": "$.token,$.password"})
    json_list = settings_from_env({"STRANGLER_SHADOW_REDACT": '["$.token", "$.password"]'})
    assert comma == json_list == {"shadow_redact": ["$.token", "$.password"]}
    assert settings_from_env({"STRANGLER_GUARD": ""}) == {"guard": []}


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "STRANGLER_BODY_LIMITS",
            "POST /upload=10",
            "STRANGLER_BODY_LIMITS='POST /upload=10' is not a valid table: not JSON",
        ),
        ("STRANGLER_BODY_LIMITS", "[1]", "is not a valid table: give a JSON object"),
        ("STRANGLER_BODY_LIMITS", '{"POST /upload": 0}', "is not a valid setting: body_limits["),
        ("STRANGLER_SHADOW_REDACT", "$token", "shadow_redact: '$token' is not a JSON path"),
        ("STRANGLER_METRICS_PORT", "http", "STRANGLER_METRICS_PORT='http' is not a valid int"),
        ("STRANGLER_METRICS_PORT", "70000", "metrics_port = 70000: give a port, or 0 for none"),
        ("STRANGLER_STICKY", "jwt", "STRANGLER_STICKY='jwt' is not a valid setting: sticky ="),
    ],
)
def test_a_bad_list_or_table_in_the_environment_names_the_variable(
    variable: str, value: str, message: str
) -> None:
    """A variable that does not convert, or converts to a bad value, is refused by its name."""
    with pytest.raises(ConfigError) as refused:
        settings_from_env({variable: value})
    assert message in str(refused.value)
    assert str(refused.value).startswith(f"{variable}=")


# A bad value for every setting, and what its one-line error says (a wrong type, at least).
BAD = {
    "legacy": ("legacy.app", "legacy = 'legacy.app': give MODULE:ATTR, e.g. 'legacy.app:app'"),
    "migrated": (5, "migrated = 5: give MODULE:ATTR"),
    "flags": ("", "flags = '': give a SQLite file, a redis:// URL or \"memory:\""),
    "seed": (["f.yaml"], "seed = ['f.yaml']: give a string, or '' for none"),
    "sticky": ("jwt", "sticky = 'jwt' is not understood"),
    "backend_header": ("X Backend", "backend_header = 'X Backend': give a header name"),
    "admin_prefix": ("admin", "admin_prefix 'admin' must be a path below the root"),
    "legacy_threads": (0, 'legacy_threads = 0: give "auto" or a number of threads (1+)'),
    "poll_interval": (0, "poll_interval = 0: give a positive number"),
    "freeze_gc": ("off", "freeze_gc = 'off': give true or false"),
    "contracts": (5, "contracts = 5: give a string"),
    "ledger": (1, "ledger = 1: give a string, or '' for none"),
    "contract_reset": ("reset", "contract_reset = 'reset': give MODULE:ATTR"),
    "contract_reset_force": ("yes", "contract_reset_force = 'yes': give true or false"),
    "contract_reset_live": ("yes", "contract_reset_live = 'yes': give true or false"),
    "contract_results": (True, "contract_results = True: give a string"),
    "legacy_quiet_days": (-1, "legacy_quiet_days = -1: give at least 0"),
    "fuzz_examples": (0, "fuzz_examples = 0: give at least 1"),
    "fuzz_seed": (1.5, "fuzz_seed = 1.5: give a whole number"),
    "volatile_headers": (["e tag"], "volatile_headers = ['e tag']: give a list of header names"),
    "max_header_bytes": (0, "max_header_bytes = 0: give a positive number"),
    "max_headers": (-1, "max_headers = -1: give a positive number"),
    "header_timeout": (0, "header_timeout = 0: give a positive number"),
    "body_timeout": ("30", "body_timeout = '30': give a positive number"),
    "keep_alive_timeout": (0, "keep_alive_timeout = 0: give a positive number"),
    "drain_timeout": (-1, "drain_timeout = -1: give at least 0"),
    "max_connections": (0, "max_connections = 0: give a positive number"),
    "max_body": (True, "max_body = True: give a positive number"),
    "body_limits": ({"GET /hello": "big"}, "body_limits['GET /hello'] = 'big': give a size"),
    "admin_max_body": (0, "admin_max_body = 0: give a positive number"),
    "legacy_queue": (-1, "legacy_queue = -1: give at least 0"),
    "migrated_concurrency": (-1, "migrated_concurrency = -1: give at least 0"),
    "shadow_concurrency": (0, "shadow_concurrency = 0: give a positive number"),
    "shadow_queue": (0, "shadow_queue = 0: give a positive number"),
    "shadow_timeout": (0, "shadow_timeout = 0: give a positive number"),
    "shadow_max_body": (0, "shadow_max_body = 0: give a positive number"),
    "shadow_max_cpu": (0, "shadow_max_cpu = 0: give a positive number"),
    "shadow_redact": (["$token"], "shadow_redact: '$token' is not a JSON path"),
    "shadow_never_noise": (["cached"], "shadow_never_noise: 'cached' is not a JSON path"),
    "sandbox_databases": (
        ["blog.db"],
        "sandbox_databases = ['blog.db']: give a list of MODULE:ATTR",
    ),
    "metrics": ("yes", "metrics = 'yes': give true or false"),
    "tracing": ("on", "tracing = 'on': give true or false"),
    "metrics_public": (1, "metrics_public = 1: give true or false"),
    "metrics_port": (70000, "metrics_port = 70000: give a port, or 0 for none"),
    "metrics_host": ("", "metrics_host = '': give an address"),
    "health_port": (-1, "health_port = -1: give a port, or 0 for none"),
    "health_host": ("", "health_host = '': give an address"),
    "request_log": (["stdout"], "request_log = ['stdout']: give a string"),
    "request_id_header": ("X Request ID", "request_id_header = 'X Request ID': give a header"),
    "guard": ("POST /predict", "guard = 'POST /predict': give a list of endpoints"),
    "guard_max_error_rate": (150, "guard_max_error_rate = 150: give 0 to 100 (%)"),
    "guard_window": (0.5, "guard_window = 0.5: give at least 1 (seconds)"),
    "guard_min_requests": (0, "guard_min_requests = 0: give at least 1"),
    "webhooks": (["teams:x"], "webhooks = ['teams:x']: give a list of http(s) URLs"),
    "dashboard_hosts": ([""], "dashboard_hosts = ['']: give a list of host names"),
}


def test_every_setting_has_a_bad_value_case() -> None:
    """The table of bad values names every declared setting: each has a check, if only its type."""
    assert sorted(BAD) == sorted(names())


@pytest.mark.parametrize(("name", "case"), BAD.items(), ids=list(BAD))
def test_a_bad_value_is_refused_in_one_line_naming_the_setting(
    tmp_path: Path, name: str, case: tuple[object, str]
) -> None:
    """A bad value, given as an option, is one ConfigError line with the setting, the value and
    what to give instead, raised when the settings are made."""
    value, message = case
    (tmp_path / "strangler.toml").write_text(APPS)
    with pytest.raises(ConfigError) as refused:
        load_settings(tmp_path / "strangler.toml", **{name: value})
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_bad_value_in_the_file_is_refused_the_same_way(tmp_path: Path) -> None:
    """The file's values are checked as an option's are."""
    (tmp_path / "strangler.toml").write_text(APPS + "shadow_timeout = -1\n")
    with pytest.raises(ConfigError, match="shadow_timeout = -1: give a positive number"):
        load_settings(tmp_path / "strangler.toml")


def test_values_are_checked_however_the_settings_are_made() -> None:
    """Settings(...) itself types and checks its values, as create_gateway makes them."""
    with pytest.raises(ConfigError, match="max_body = 0: give a positive number"):
        Settings(legacy="", migrated="", max_body=0)
    settings = Settings(legacy="", migrated="", poll_interval=1, dashboard_hosts=("gw.test",))
    assert (settings.poll_interval, settings.dashboard_hosts) == (1.0, ["gw.test"])


def test_a_guard_needs_the_metrics() -> None:
    """The guard judges by the requests counted: guarding with metrics off is refused."""
    with pytest.raises(ConfigError, match="guard needs metrics = true"):
        Settings(legacy="", migrated="", guard=["*"], metrics=False)


def test_an_empty_header_name_means_none() -> None:
    """backend_header = "" and request_id_header = "" leave the header out (None)."""
    settings = Settings(legacy="", migrated="", backend_header="", request_id_header="")
    assert (settings.backend_header, settings.request_id_header) == (None, None)


def test_unknown_keys_are_listed_with_the_known_ones(tmp_path: Path) -> None:
    """Every misspelt key, from the file or an option, is named in one line with the known ones;
    `root` (where the file is) is not a setting."""
    (tmp_path / "strangler.toml").write_text(APPS + 'flgas = "x"\nroot = "/"\n')
    with pytest.raises(ConfigError) as refused:
        load_settings(tmp_path / "strangler.toml", stiky="client")
    message = str(refused.value)
    assert message.startswith("unknown setting(s) flgas, root, stiky in ")
    assert "'shadow_redact'" in message
    assert "\n" not in message


def test_an_unknown_keyword_to_create_gateway_is_named() -> None:
    """create_gateway(stiky=...) is a TypeError naming the keyword."""
    from strangler.assembly import create_gateway
    from tests.test_apps import pair

    with pytest.raises(TypeError, match="'stiky'"):
        create_gateway(pair.legacy, pair.migrated, stiky="client")


def test_settings_survive_the_json_the_workers_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """settings_to_env and from_environment's JSON gives back equal settings."""
    from strangler.assembly import SETTINGS_ENV, settings_to_env

    (tmp_path / "strangler.toml").write_text(
        APPS + 'body_limits = {"POST /upload" = 10}\nguard = ["*"]\nbackend_header = ""\n'
    )
    settings = load_settings(tmp_path / "strangler.toml")
    values = json.loads(settings_to_env(settings)[SETTINGS_ENV])
    assert Settings(**values) == settings


def test_the_defaults_are_the_library_s_own() -> None:
    """The defaults written out in strangler.settings (so that loading settings imports none of
    the request path) are those of the parts they configure."""
    from strangler.flags.watcher import DEFAULT_INTERVAL
    from strangler.rollout.guard import GuardRule
    from strangler.shadow.redact import DEFAULT_NAMES
    from strangler.shadow.tap import ShadowLimits

    settings = Settings(legacy="", migrated="")
    assert settings.poll_interval == DEFAULT_INTERVAL
    assert settings.limits == Limits()
    shadow = ShadowLimits()
    assert (
        settings.shadow_concurrency,
        settings.shadow_queue,
        settings.shadow_timeout,
        settings.shadow_max_body,
        settings.shadow_max_cpu,
    ) == (shadow.concurrency, shadow.queue, shadow.timeout, shadow.max_body, shadow.max_cpu)
    assert settings.shadow_redact == list(DEFAULT_NAMES)
    guard = GuardRule()
    assert (settings.guard_max_error_rate, settings.guard_window, settings.guard_min_requests) == (
        guard.max_error_rate,
        guard.window,
        guard.min_requests,
    )
    assert settings.dashboard_hosts == list(LOOPBACK)


def test_loading_the_settings_imports_none_of_the_request_path() -> None:
    """`import strangler.settings` (what every CLI command loads) stays light: no asyncio, YAML,
    flag store, shadow or rollout modules."""
    heavy = ("asyncio", "yaml", "strangler.flags", "strangler.shadow", "strangler.rollout")
    code = (
        "import sys, strangler.settings\n"
        f"print(sorted(m for m in sys.modules if m.startswith({heavy!r})))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "[]"


def test_every_setting_is_documented_in_the_module_docstring() -> None:
    """The docstring's list, made from the declarations, has each setting with its help."""
    import strangler.settings

    doc = strangler.settings.__doc__ or ""
    for name, option, _ in strangler.settings._options():
        assert f"\n    {name} = " in doc
        assert f"# {option.help}" in doc
        assert len(option.help) <= 55, name  # one line in the docstring's list
    assert "{reference}" not in doc


def test_the_readme_names_only_real_settings() -> None:
    """Every key in the README's [tool.strangler] examples is a declared setting."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n\[tool\.strangler\]\n(.*?)```", readme, re.DOTALL)
    keys = {m for block in blocks for m in re.findall(r"^(\w+) = ", block, re.MULTILINE)}
    assert keys
    assert keys <= set(names())


def test_check_settings_refuses_a_request_log_it_cannot_write(tmp_path: Path) -> None:
    """check_settings opens the request log before the server starts: a file in the way fails."""
    from strangler.assembly import check_settings

    (tmp_path / "blocker").write_text("")
    config = tmp_path / "strangler.toml"
    config.write_text(
        'legacy = "tests.test_apps.pair:legacy"\nmigrated = "tests.test_apps.pair:migrated"\n'
    )
    with pytest.raises(ConfigError, match="request_log: cannot write"):
        check_settings(load_settings(config, request_log="blocker/requests.log"))
    check_settings(load_settings(config, request_log="logs/requests.log"))
    assert (tmp_path / "logs" / "requests.log").is_file()
