"""`strangler flags set --segment` (issue #25, item 4): segments set, listed, audited, kept or
dropped by later changes, exported and imported, and refused with one line when malformed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_flags import config, strangler

__all__ = ["config"]

TENANT = "header:X-Tenant=acme->migrated"


def test_a_segment_is_set_listed_and_audited(config: Path) -> None:
    """`flags set ... canary -p 10 --segment ...` stores the segment; `flags list` and
    `flags history` show it."""
    result = strangler(
        config, "flags", "set", "GET /hello", "canary", "-p", "10",
        "--segment", TENANT, "--segment", "claim:role=internal->migrated", "-m", "acme first",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    shown = "canary 10%, segments header:x-tenant=acme->migrated claim:role=internal->migrated"
    assert f"GET /hello: (unset) -> {shown}" in result.output
    assert f"GET /hello  {shown}" in strangler(config, "flags", "list").output
    history = strangler(config, "flags", "history", "GET /hello").output
    assert shown in history
    assert "acme first" in history


def test_a_percentage_change_keeps_the_segments_and_a_rollback_drops_them(config: Path) -> None:
    """A new percentage keeps the endpoint's segments; a change to legacy sends everyone back,
    and --no-segments drops them on any change."""
    strangler(config, "flags", "set", "GET /hello", "canary", "5", "--segment", TENANT, "-m", "a")
    kept = strangler(config, "flags", "canary", "GET /hello", "20", "-m", "more")
    assert "-> canary 20%, segments header:x-tenant=acme->migrated" in kept.output
    back = strangler(config, "flags", "set", "GET /hello", "legacy", "-m", "rollback")
    assert "-> legacy  (version" in back.output
    strangler(config, "flags", "set", "GET /hello", "migrated", "--segment", TENANT, "-m", "b")
    dropped = strangler(
        config, "flags", "set", "GET /hello", "migrated", "--no-segments", "-m", "c"
    )
    assert dropped.output.startswith("GET /hello: migrated, segments")
    assert "-> migrated  (version" in dropped.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--segment", "header:X-Tenant=acme"), "names no backend"),
        (("--segment", "query:t=1->migrated"), "unknown kind 'query'"),
        (("--segment", "cookie:beta->migrated"), "needs a name and a value"),
        (("--segment", TENANT, "--no-segments"), "contradict each other"),
        (("-p", "10"), "give the percentage once"),
    ],
)
def test_a_malformed_segment_is_refused_in_one_line_and_nothing_stored(
    config: Path, args: tuple[str, ...], message: str
) -> None:
    """A bad segment (or contradictory options) exits 2 with one line saying what is wrong."""
    result = strangler(config, "flags", "set", "GET /hello", "canary", "10", *args, "-m", "x")
    assert result.exit_code == 2
    assert message in result.output
    assert strangler(config, "flags", "history").output.strip() == ""


def test_a_one_app_endpoint_takes_no_segments(config: Path) -> None:
    """Segments choose between two apps: an endpoint one app serves refuses them."""
    result = strangler(
        config, "flags", "set", "GET /migrated-only", "off", "--segment", TENANT, "-m", "x"
    )
    assert result.exit_code == 2
    assert "takes no segments" in result.output


def test_segments_survive_an_export_and_an_import(config: Path, tmp_path: Path) -> None:
    """`flags export` writes the segments in the flags file; importing it into a store
    without them puts them back, and importing it again changes nothing."""
    strangler(config, "flags", "set", "GET /hello", "legacy", "--segment", TENANT, "-m", "a")
    exported = tmp_path / "flags.yaml"
    strangler(config, "flags", "export", str(exported))
    assert "segments: ['header:x-tenant=acme->migrated']" in exported.read_text()
    strangler(config, "flags", "set", "GET /hello", "legacy", "--no-segments", "-m", "b")
    imported = strangler(config, "flags", "import", str(exported))
    assert "1 flag(s) changed" in imported.output
    assert "legacy, segments header:x-tenant=acme->migrated" in imported.output
    assert "0 flag(s) changed" in strangler(config, "flags", "import", str(exported)).output
