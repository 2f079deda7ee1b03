"""The fleet's figures as the rollout judge reads them (strangler.metrics.fleet)."""

from __future__ import annotations

from strangler.metrics.fleet import shadow_counts, shadow_since


def test_shadow_counts_carry_the_shared_5xx_by_serving_backend() -> None:
    """#25: a report's shared_errors come out as the last two counts; a report without them
    (a worker not yet upgraded) counts 0."""
    report = {
        "endpoints": [
            {
                "endpoint": "GET /a",
                "compared": 10,
                "mismatched": 1,
                "shared_errors": {"migrated": 2, "legacy": 3},
            },
            {"endpoint": "GET /b", "compared": 4, "mismatched": 0},
        ]
    }
    assert shadow_counts(report) == {"GET /a": (10, 1, 2, 3), "GET /b": (4, 0, 0, 0)}


def test_shadow_since_counts_each_figure_from_the_baseline() -> None:
    """Each count since the baseline; a baseline of two counts (written before the shared 5xx
    were kept) takes 0 for them; a worker whose comparisons went down counts from zero."""
    now = {"w1": (30, 3, 5, 7), "w2": (4, 1, 1, 0)}
    start = {"w1": (10, 1), "w2": (9, 2, 1, 0)}
    assert shadow_since(now, start) == (20 + 4, 2 + 1, 5 + 1, 7)
