"""What the dashboard's pages show (strangler.dashboard.views, svg): mismatches grouped by the
place they differ, the field marked, charts that break where there was no traffic (#25)."""

from __future__ import annotations

from strangler.dashboard.svg import Line, chart
from strangler.dashboard.views import grouped, highlighted, kind_of


def mismatch(*wheres: str) -> dict[str, object]:
    return {"differences": [{"where": w, "legacy": 1, "migrated": 2} for w in wheres]}


def test_mismatches_are_grouped_by_where_they_differ_status_first() -> None:
    """Status, header and body-path groups, each counting its mismatches; one that differs in
    two places is in both groups."""
    groups = grouped(
        [mismatch("$.user.name"), mismatch("status", "$.user.name"), mismatch("header:etag")]
    )
    assert [(g.kind, g.where, len(g.mismatches)) for g in groups] == [
        ("status", "status", 1),
        ("header", "header:etag", 1),
        ("body", "$.user.name", 2),
    ]
    assert kind_of("body") == "body"


def test_the_differing_field_is_marked_in_each_answer() -> None:
    """The JSON line of the field that differs is marked; its text escaped; others plain."""
    answer = {"status": 200, "headers": {"ETag": "<x>"}, "body": {"user": {"name": "a"}}}
    body = highlighted(answer, "$.user.name")
    assert '<mark class="field">   &#34;name&#34;: &#34;a&#34;</mark>' in body
    assert body.count("<mark") == 1
    assert highlighted(answer, "header:etag").count("<mark") == 1
    assert "&lt;x&gt;" in highlighted(answer, "header:etag")
    assert '<mark class="field"> &#34;status&#34;: 200,</mark>' in highlighted(answer, "status")


def test_a_chart_breaks_where_there_was_no_traffic_and_draws_its_max() -> None:
    """Two runs of points make two lines; a max is a dashed line; nothing at all says so."""
    points = [(0.0, 1.0), (1.0, 2.0), (2.0, None), (3.0, 1.0), (4.0, 3.0)]
    svg = chart([Line("#000", points)], start=0, end=4, limit=2.5, title="a <b>")
    assert svg.count("<polyline") == 2
    assert 'class="limit"' in svg
    assert "a &lt;b&gt;" in svg
    empty = chart([Line("#000", [(0.0, None)])], start=0, end=4)
    assert "no traffic" in empty
