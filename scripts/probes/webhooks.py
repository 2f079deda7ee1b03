"""Webhooks: request latency and event delivery with no webhook, a slow one and one down a while.

`strangler serve --workers 2` of the worked example, three times: without webhooks, with a
webhook whose receiver takes 0.3 s an answer, and with one whose receiver is not listening for
the first 8 s. Each time, while a client (pinned to CPU 1) sends GET /model-info one after
another for the whole run, the probe makes 20 flag changes through `strangler flags set --url`
(the CLI, as an operator would) and one rollout (`rollout start --approve-at`, `rollout pause`),
then waits (at most 60 s) for the receiver to hold every event. Reported: the client's p50/p99
latency and request count, and per receiver the events expected, received, told more than once,
whether they came in the order they happened, how long the changes took to make (22 CLI
processes) and when the last event arrived, after the last change and after the first.
"""

from __future__ import annotations

import http.server
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from probes._common import LOAD_CPU, free_port, p99, serve_example

ENDPOINT = "GET /model-info"
CHANGES = 20
SLOW = 0.3
DOWN_FOR = 8.0


class Receiver:
    """A webhook receiver on 127.0.0.1 (see tests/support/webhooks.py), started when asked."""

    def __init__(self, port: int, delay: float) -> None:
        self.port, self.delay = port, delay
        self.ids: list[str] = []
        self.kinds: list[str] = []
        self.lock = threading.Lock()
        self.server: http.server.ThreadingHTTPServer | None = None

    def start(self) -> None:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                time.sleep(receiver.delay)
                with receiver.lock:
                    receiver.ids.append(body["id"])
                    receiver.kinds.append(body["kind"])
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def _client(url: str, stop: threading.Event, latencies: list[float]) -> None:
    os.sched_setaffinity(0, {int(LOAD_CPU)})  # this thread: the load's CPU
    with httpx.Client(base_url=url, timeout=10) as client:
        while not stop.is_set():
            began = time.perf_counter()
            client.get("/model-info")
            latencies.append(time.perf_counter() - began)


def _cli(url: str, *args: str) -> str:
    strangler = str(Path(sys.executable).parent / "strangler")
    done = subprocess.run(
        ["taskset", "-c", LOAD_CPU, strangler, *args, "--url", url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0:
        raise RuntimeError(f"strangler {' '.join(args)}: {done.stdout}{done.stderr}")
    return done.stdout


def _one_run(work: Path, receiver: Receiver | None, down_for: float = 0.0) -> dict:
    env = {**os.environ}
    if receiver is not None:
        env["STRANGLER_WEBHOOKS"] = f"http://127.0.0.1:{receiver.port}/hook"
    work.mkdir()
    figures: dict[str, object] = {}
    with serve_example(work, "--workers", "2", env=env) as (url, _):
        time.sleep(2.0)  # the workers' clerks take their first look before the changes
        started = time.monotonic()
        if receiver is not None:  # at once, or once it has been away `down_for` seconds
            comes_back = threading.Timer(down_for, receiver.start)
            comes_back.start()
        stop, latencies = threading.Event(), []
        load = threading.Thread(target=_client, args=(url, stop, latencies))
        load.start()
        for i in range(CHANGES):
            mode = ["canary", "5"] if i % 2 == 0 else ["legacy"]
            _cli(url, "flags", "set", ENDPOINT, *mode, "-m", f"change {i}")
        _cli(
            url,
            "rollout",
            "start",
            ENDPOINT,
            "--steps",
            "5,50,100",
            "--approve-at",
            "50",
            "--interval",
            "1m",
            "-m",
            "probe",
        )
        _cli(url, "rollout", "pause", ENDPOINT, "-m", "probe")
        expected = CHANGES + 2  # every change, the rollout's start and its pause
        changed = time.monotonic()
        deadline = time.monotonic() + 60
        while receiver is not None and len(receiver.ids) < expected:
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
        delivered, last = time.monotonic() - started, time.monotonic() - changed
        if receiver is not None:
            comes_back.join()
        time.sleep(2.0)  # anything told twice would come now
        stop.set()
        load.join()
    ordered = sorted(latencies)
    figures["requests"] = len(ordered)
    figures["p50_ms"] = round(statistics.median(ordered) * 1000, 2)
    figures["p99_ms"] = round(p99(ordered) * 1000, 2)
    if receiver is not None:
        receiver.stop()
        kinds = receiver.kinds
        figures["events_expected"] = expected
        figures["events_received"] = len(receiver.ids)
        figures["told_twice"] = len(receiver.ids) - len(set(receiver.ids))
        figures["in_order"] = kinds == ["flag_changed"] * CHANGES + ["started", "paused"]
        figures["changes_made_in_s"] = round(changed - started, 1)
        figures["all_delivered_s_after_the_last"] = round(last, 1)
        figures["all_delivered_s_after_the_first"] = round(delivered, 1)
    return figures


def run(work: Path) -> dict:
    return {
        "no_webhook": _one_run(work / "none", None),
        f"receiver_{SLOW}s_an_answer": _one_run(work / "slow", Receiver(free_port(), SLOW)),
        f"receiver_down_{DOWN_FOR:g}s": _one_run(
            work / "down", Receiver(free_port(), 0.0), DOWN_FOR
        ),
    }
