"""The progress report as text (strangler.report.render): the cells, Markdown and the HTML page."""

from __future__ import annotations

from typing import Any

from strangler.report import render
from strangler.report.progress import EndpointProgress, Progress


def endpoint(name: str, **fields: Any) -> EndpointProgress:
    """An endpoint both apps serve, on legacy with nothing counted, but for `fields`."""
    defaults: dict[str, Any] = {
        "served_by": "both",
        "routing": "legacy",
        "migrated_share": None,
        "requests": {},
        "error_rates": {},
        "p99": {},
        "shadow": (0, 0),
    }
    return EndpointProgress(name, **{**defaults, **fields})


def progress(*endpoints: EndpointProgress, contracts_failed: bool | None = None) -> Progress:
    return Progress(list(endpoints), None, contracts_failed, 7.0, 0, 1)


def test_each_cell_says_what_it_counts() -> None:
    """Shares are percentages with one decimal (or `-`); the contract cell counts passed,
    skipped and fuzzed cases; the shadow cell mismatches of compared; a rollout is named."""
    assert (render.percent(None), render.percent(0.25)) == ("-", "25.0%")
    assert render.contract_cell(endpoint("GET /a")) == "none"
    tested = endpoint(
        "GET /a", cases=5, failed_cases=1, skipped_cases=2, fuzzed=40, fuzz_failed=True
    )
    assert render.contract_cell(tested) == "4/5 cases (2 skipped), 40 fuzzed (failed)"
    assert render.shadow_cell(endpoint("GET /a")) == "-"
    assert render.shadow_cell(endpoint("GET /a", shadow=(200, 3))) == "3/200 (1.5%)"
    rolling = endpoint("GET /a", routing="canary 10%", rollout="step 1/3", requests={"legacy": 9})
    [row] = render.rows(progress(rolling))
    assert (row["routing"], row["requests"]) == ("canary 10% [rollout step 1/3]", "9")


def test_markdown_keeps_a_pipe_inside_its_cell_and_lists_what_stands_in_the_way() -> None:
    """A `|` in an endpoint cannot break the table; each blocker is listed under the verdict."""
    text = render.markdown(progress(endpoint("GET /a|b")))
    assert "| GET /a\\|b | yes | legacy | - | 0 | none | 0 | - |" in text
    assert "- legacy can be deleted: not yet\n  - GET /a|b is routed legacy\n" in text
    assert "  - no contract run saved (`strangler contract run`)" in text


def test_the_verdict_is_yes_when_nothing_stands_in_the_way() -> None:
    """Every legacy endpoint on migrated long enough or retired, and a passing contract run."""
    done = progress(
        endpoint("GET /a", routing="migrated", requests={"migrated": 10}, on_migrated_since=1.0),
        endpoint("GET /old", served_by="legacy", routing="off (retired)"),
        contracts_failed=False,
    )
    assert render.overall(done)[1] == "traffic on migrated: 100.0% (counted by 1 gateway worker(s))"
    assert render.overall(done)[-1] == "legacy can be deleted: yes"
    assert '<div class="verdict yes">' in render.html(done)


def test_the_html_page_escapes_what_the_apps_named() -> None:
    """An endpoint's name is the apps' text: on the page it is shown, never run as markup."""
    page = render.html(progress(endpoint("GET /<script>x()</script>")), title="Shop <migration>")
    assert "<script>" not in page
    assert "GET /&lt;script&gt;x()&lt;/script&gt;" in page
    assert "<title>Shop &lt;migration&gt;</title>" in page
    assert '<div class="verdict">' in page
