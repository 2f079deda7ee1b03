"""Flag store faults an operator meets: a bad row, a lock, a killed gateway, a deleted store.

One `strangler serve` of the worked example on a SQLite store, and the CLI beside it. In turn:
1. five quick `flags set`s while it serves: what each says of the workers that took it;
2. a canary row at 0 %, then percentage 500 written straight into the file: where 40 requests
   to that endpoint go, and what health says (then `flags set` repairs it);
3. another process holding the store's write lock for LOCK_SECONDS: how long until health says
   degraded, and until it says ok once the lock is let go;
4. the gateway killed (SIGKILL), then four `flags set`s: what each says;
5. the store deleted and `strangler serve` started again: whether it serves, on what table.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
from probes._common import free_port, serve_example, server_pid

ENDPOINT = "GET /model-info"
LOCK_SECONDS = 12.0


def run(work: Path) -> dict:
    store = work / "flags.db"
    strangler = str(Path(sys.executable).parent / "strangler")

    def cli(*args: str) -> str:
        """The last line a `strangler flags` command printed (its verdict)."""
        done = subprocess.run(
            [strangler, "flags", *args, "--flags", str(store)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        lines = (done.stdout + done.stderr).strip().splitlines()
        return lines[-1][:160] if lines else f"(exit {done.returncode}, nothing said)"

    figures: dict[str, object] = {}
    with serve_example(work) as (url, port):
        health = f"{url}/_strangler/health"
        modes = ["migrated", "legacy", "migrated", "legacy", "migrated"]
        figures["five_quick_changes"] = [
            cli("set", ENDPOINT, mode, "-m", f"quick {i}") for i, mode in enumerate(modes)
        ]

        cli("canary", ENDPOINT, "0", "-m", "a canary at 0 %")
        time.sleep(1.0)  # every worker follows within a second
        with sqlite3.connect(store) as conn:
            conn.execute("UPDATE flags SET percentage = 500 WHERE endpoint = ?", (ENDPOINT,))
            conn.execute("UPDATE meta SET version = version + 1")
        conn.close()
        time.sleep(1.0)
        backends: dict[str, int] = {}
        for _ in range(40):
            served = httpx.get(url + "/model-info", timeout=10).headers.get("x-strangler-backend")
            backends[str(served)] = backends.get(str(served), 0) + 1
        said = httpx.get(health, timeout=10).json()
        repaired = cli("set", ENDPOINT, "legacy", "-m", "repair the row")
        time.sleep(1.0)
        figures["bad_row_percentage_500"] = {
            "backends_of_40": backends,
            "health": said["status"],
            "error": str(said["flags"].get("error"))[:160],
            "repair": repaired,
            "health_after_repair": httpx.get(health, timeout=10).json()["status"],
        }

        locker = sqlite3.connect(store, isolation_level=None)
        locker.execute("BEGIN EXCLUSIVE")
        locked_at = time.monotonic()
        degraded_after = None
        while time.monotonic() - locked_at < LOCK_SECONDS:
            if httpx.get(health, timeout=10).json()["status"] == "degraded":
                degraded_after = degraded_after or round(time.monotonic() - locked_at, 1)
            time.sleep(0.25)
        locker.execute("COMMIT")
        locker.close()
        released_at = time.monotonic()
        ok_after = None
        while time.monotonic() - released_at < 15 and ok_after is None:
            if httpx.get(health, timeout=10).json()["status"] == "ok":
                ok_after = round(time.monotonic() - released_at, 1)
            time.sleep(0.25)
        figures["write_lock"] = {
            "held_s": LOCK_SECONDS,
            "degraded_after_s": degraded_after,
            "ok_after_release_s": ok_after,
        }

        os.kill(server_pid(port), signal.SIGKILL)
        time.sleep(0.5)
        modes = ["migrated", "legacy", "migrated", "legacy"]
        figures["changes_after_kill"] = [
            cli("set", ENDPOINT, mode, "-m", f"after the kill {i}") for i, mode in enumerate(modes)
        ]

    for file in work.glob("flags.db*"):
        if not file.name.endswith(".created"):
            file.unlink()
    figures["restart_on_a_deleted_store"] = _restart(strangler, store)
    return figures


def _restart(strangler: str, store: Path) -> str:
    """What `strangler serve` does on a store path whose file was deleted: exits (what it
    says), or serves (on what table)."""
    port = free_port()
    argv = [strangler, "serve", "--port", str(port), "--dev", "--no-access-log"]
    with subprocess.Popen(
        [*argv, "--flags", str(store)],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    ) as proc:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                output = (proc.stdout.read() if proc.stdout else "").strip().splitlines()
                return f"exited {proc.returncode}: {output[-1][:200] if output else ''}"
            try:
                said = httpx.get(f"http://127.0.0.1:{port}/_strangler/health", timeout=1).json()
            except httpx.HTTPError:
                time.sleep(0.2)
                continue
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
            return f"served: health {said['status']}, flag table version {said['flags']['version']}"
        os.killpg(proc.pid, signal.SIGKILL)
        return "neither served nor exited in 90 s"
