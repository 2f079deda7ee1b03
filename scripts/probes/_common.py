"""What the hostile probes share: the server's pid and memory, a percentile, the example served."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.support.servers import free_port, running  # noqa: E402

SERVER_CPU, LOAD_CPU = "0", "1"
ROW = [0.5, -1.2, 3.3, 0.0, 2.2, -0.7, 1.1, 4.4, -2.5, 0.9]


def rss_kib(pid: int) -> int:
    """Resident memory of a process and its children (the uvicorn worker), in KiB."""
    total = 0
    for task in [pid, *_children(pid)]:
        try:
            status = Path(f"/proc/{task}/status").read_text()
        except OSError:
            continue
        total += next(
            int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS")
        )
    return total


def _children(pid: int) -> list[int]:
    try:
        found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    kids = [int(p) for p in found]
    return kids + [g for k in kids for g in _children(k)]


def server_pid(port: int) -> int:
    """The pid of the process listening on `port` (the serve process)."""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1].endswith(f":{port:04X}") and fields[3] == "0A":
            inode = fields[9]
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if any(os.readlink(fd).endswith(f"[{inode}]") for fd in (proc / "fd").iterdir()):
                return int(proc.name)
        except OSError:
            continue
    raise RuntimeError(f"nothing listens on {port}")


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


@contextlib.contextmanager
def serve_example(
    work: Path, *options: str, env: dict[str, str] | None = None
) -> Iterator[tuple[str, int]]:
    """`strangler serve` of the worked example (one worker, defaults, a flag store in `work`),
    pinned to CPU 0; yields its URL and port. `options` are added to the command line."""
    port = free_port()
    argv = ["taskset", "-c", SERVER_CPU, str(Path(sys.executable).parent / "strangler"), "serve"]
    argv += ["--port", str(port), "--no-access-log", "--dev", "--flags", f"{work}/flags.db"]
    with running(
        [*argv, *options], port=port, ready_path="/_strangler/health", env=env, timeout=120
    ) as url:
        yield url, port
