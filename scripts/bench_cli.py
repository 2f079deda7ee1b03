"""How long an operator waits for `strangler flags set`, `flags list` and `flags history`
(`scripts/bench --suites cli`): the real command, in a temporary project whose apps cannot be
imported (their database driver is missing, as on an operator's box), on a SQLite store a gateway
published its endpoints to. The median wall time of `runs` runs of each, after one to warm the
disk cache; `flags set` flips the flag each run, so every run writes a change."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

Check = tuple[str, float, str, bool]

TARGET_MS = 300.0
UNIMPORTABLE = "raise ImportError(\"No module named 'psycopg'\", name='psycopg')\n"


def project() -> Path:
    """A project whose apps raise ImportError, with a store that knows the endpoints of the
    tests' pair (as its gateway would have published them); returns its strangler.toml."""
    from strangler.flags.inventory import publish_inventory
    from strangler.flags.store import open_store
    from strangler.routing.inventory import discover
    from tests.test_apps import pair

    folder = Path(tempfile.mkdtemp(prefix="strangler-bench-cli-"))
    (folder / "service.py").write_text(UNIMPORTABLE)
    config = folder / "strangler.toml"
    config.write_text(
        'legacy = "service:legacy"\nmigrated = "service:migrated"\nflags = "flags.db"\n'
    )
    store = open_store(folder / "flags.db", create=True)
    publish_inventory(store, discover(pair.legacy, pair.migrated))
    store.close()
    return config


def timed(argv: list[str], cwd: Path) -> float:
    """Milliseconds of wall time for one run of `argv`, which must succeed."""
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    took = (time.perf_counter() - started) * 1000
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stderr}")
    return took


def run(runs: int = 15) -> list[Check]:
    config = project()
    strangler = str(Path(sys.executable).parent / "strangler")
    commands: dict[str, Callable[[int], list[str]]] = {
        "flags set": lambda i: [
            *("flags", "set", "GET /hello", "migrated" if i % 2 else "legacy"),
            *("-m", f"bench run {i}"),
        ],
        "flags list": lambda i: ["flags", "list"],
        "flags history": lambda i: ["flags", "history"],
    }
    print(f"\ncli: the real `strangler` command, apps unimportable, median of {runs} runs (ms)")
    print(f"  {'command':<16}{'median':>8}{'min':>8}{'max':>8}")
    checks: list[Check] = []
    for name, args in commands.items():
        timed([strangler, *args(0), "--config", str(config)], config.parent)  # warm-up
        took = [
            timed([strangler, *args(i), "--config", str(config)], config.parent)
            for i in range(1, runs + 1)
        ]
        median = statistics.median(took)
        print(f"  {name:<16}{median:>8.0f}{min(took):>8.0f}{max(took):>8.0f}")
        label = f"cli: strangler {name}, median wall (ms)"
        checks.append((label, median, f"< {TARGET_MS:g}", median < TARGET_MS))
    return checks


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    for label, value, target, ok in run():
        print(f"  {label:<52}{value:>8.2f}  {target:<8}{'PASS' if ok else 'MISS'}")
