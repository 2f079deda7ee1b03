"""The measuring rounds, the medians and the table of the side-by-side suites (bench_httpbin,
bench_shadow, bench_observe)."""

from __future__ import annotations

import statistics
from collections.abc import Callable

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


def measure_rounds(
    urls: dict[str, str],
    rows: list[tuple[str, int]],
    measure: Callable[[str, str, str, int, int], Row],
    rounds: int,
    seconds: int,
) -> dict[Key, list[Row]]:
    """Warms every server up, then measures each row on each server `rounds` times, each server
    first in turn (no favourite position). `measure(url, name, endpoint, connections, seconds)`."""
    for name, url in urls.items():
        for endpoint, connections in rows:
            measure(url, name, endpoint, connections, 1)
    samples: dict[Key, list[Row]] = {}
    order = list(urls)
    for _ in range(rounds):
        for endpoint, connections in rows:
            for name in order:
                result = measure(urls[name], name, endpoint, connections, seconds)
                samples.setdefault((name, endpoint, connections), []).append(result)
        order = order[1:] + order[:1]
    return samples
