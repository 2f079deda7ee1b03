"""The medians and the table the side-by-side suites print (bench_httpbin, bench_shadow)."""

from __future__ import annotations

import statistics

Row = dict[str, float]
Key = tuple[str, str, int]  # server, endpoint, connections


def medians_of(samples: dict[Key, list[Row]]) -> dict[Key, Row]:
    """The median req/s, p50 and p99 of each (server, endpoint, connections)'s rounds."""
    return {
        key: {f: statistics.median(r[f] for r in runs) for f in ("rps", "p50_ms", "p99_ms")}
        for key, runs in samples.items()
    }


def print_rows(
    title: str, servers: tuple[str, ...], rows: list[tuple[str, int]], medians: dict[Key, Row]
) -> None:
    """One line per (endpoint, connections): req/s, p50 and p99 of each server, side by side."""
    print(f"\n{title}")
    print(f"{'endpoint':<14}{'c':>4}  " + "".join(f"{n:>24}" for n in servers))
    print(f"{'':<14}{'':>4}  " + "".join(f"{'req/s  p50ms  p99ms':>24}" for _ in servers))
    for endpoint, connections in rows:
        cells = []
        for name in servers:
            m = medians[(name, endpoint, connections)]
            cells.append(f"{m['rps']:>9.0f} {m['p50_ms']:>6.2f} {m['p99_ms']:>6.2f}")
        print(f"{endpoint:<14}{connections:>4}  " + "".join(f"{c:>24}" for c in cells))
