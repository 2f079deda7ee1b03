"""Audit text lengths: store size, history page and gateway memory after 9 MB reasons.

As the issue's probe did: 20 flag changes through the admin API, each with a 9 MB reason
(development mode: no token). Reported: the answers' statuses, the store's size on disk (file
and WAL), the size of one history page (limit 50), and the server's resident memory before,
at its peak, and after. The admin API's body limit (64 KiB) now refuses those bodies before the
text bound is reached, so the same 20 changes are made again with 60 KB reasons, under that
limit. Then the bound at each other layer: a reason of 1,001 characters and one of 1,000
through the API, a 100 KB reason through `strangler flags set --flags` (a command line holds no
9 MB argument), and a 9 MB reason written by Python straight into the store file.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from probes._common import rss_kib, serve_example, server_pid

CHANGES = 20
REASON = 9 * 2**20
UNDER_BODY_LIMIT = 60_000
ENDPOINT = "GET /model-info"


def _store_bytes(work: Path) -> int:
    return sum(f.stat().st_size for f in work.glob("flags.db*") if f.is_file())


def run(work: Path) -> dict:
    figures: dict[str, object] = {}
    with serve_example(work) as (url, port):
        pid = server_pid(port)
        before_kib, peak = rss_kib(pid), [rss_kib(pid)]
        sampling = threading.Event()

        def sample() -> None:
            while not sampling.wait(0.05):
                peak.append(rss_kib(pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        with httpx.Client(base_url=url, timeout=60) as client:
            for size in (REASON, UNDER_BODY_LIMIT):
                statuses: dict[int, int] = {}
                started = time.monotonic()
                for i in range(CHANGES):
                    mode = "migrated" if i % 2 == 0 else "legacy"
                    body = {"endpoint": ENDPOINT, "mode": mode, "reason": "r" * size}
                    try:
                        status = client.post("/_strangler/flags", json=body).status_code
                    except httpx.HTTPError:
                        status = 0  # the connection cut before an answer
                    statuses[status] = statuses.get(status, 0) + 1
                history = client.get("/_strangler/history", params={"limit": 50})
                time.sleep(1.0)  # the memory after: what the worker kept once it answered
                figures[f"api_{size // 1000}kb_reasons"] = {
                    "statuses": statuses,
                    "seconds": round(time.monotonic() - started, 1),
                    "store_bytes": _store_bytes(work),
                    "history_page_bytes": len(history.content),
                    "rss_mib_before": round(before_kib / 1024),
                    "rss_mib_peak": round(max(peak) / 1024),
                    "rss_mib_after": round(rss_kib(pid) / 1024),
                }
            over = {"endpoint": ENDPOINT, "mode": "canary", "percentage": 5, "reason": "r" * 1001}
            at_limit = {**over, "reason": "r" * 1000}
            over_answer = client.post("/_strangler/flags", json=over)
            limit_answer = client.post("/_strangler/flags", json=at_limit)
        sampling.set()
        sampler.join()
        figures["api_reason_1001_chars"] = {
            "status": over_answer.status_code,
            "error": over_answer.json().get("error", "")[:120],
        }
        figures["api_reason_1000_chars_status"] = limit_answer.status_code
        strangler = str(Path(sys.executable).parent / "strangler")
        argv = [strangler, "flags", "set", ENDPOINT, "legacy", "--flags", f"{work}/flags.db"]
        cli = subprocess.run(
            [*argv, "-m", "r" * 100_000],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        figures["cli_100kb_reason"] = {
            "exit": cli.returncode,
            "said": (cli.stderr or cli.stdout).strip().splitlines()[-1][:120],
        }
        direct = subprocess.run(
            [sys.executable, "-c", _DIRECT, f"{work}/flags.db"],
            cwd=work,  # not the repository's: the strangler on the path is the one measured
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        figures["store_9mb_reason"] = (direct.stdout or direct.stderr).strip()[-160:]
        figures["store_bytes_at_end"] = _store_bytes(work)
    return figures


# A 9 MB reason written by Python into the store itself, past the API and the CLI.
_DIRECT = """
import sys
from strangler.flags.model import Flag
from strangler.flags.store import open_store
store = open_store(sys.argv[1])
try:
    store.set("GET /model-info", Flag.build("migrated"), actor="probe", reason="r" * 9 * 2**20)
    print("written: version", store.version())
except Exception as exc:
    print("refused:", type(exc).__name__, str(exc)[:120])
"""
