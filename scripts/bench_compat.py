"""What reading a /predict body through `strangler.compat` costs, in process: µs per call of
the hand-written decoding the worked example's port had, the kit as it was, and the kit now.

Run as `.venv/bin/python scripts/bench_compat.py` (issue #26). Each call is what the port's
/predict does with its body: a fresh Starlette `Request` over a fresh ASGI scope, then the JSON
as Flask's `request.get_json()` would give it:

- "hand decoding": `migrated/body.py` before the port moved to the kit (copied below: it read
  `Content-Type` with repeats joined and `json.loads` the body);
- "kit before": `compat.legacy_request(request)` then `.get_json()`, from `--before` (a git
  revision of strangler/compat/requests.py, loaded from a temporary copy);
- "kit now": the same from the working tree.

The variants run in turn, round after round (`--rounds` of `--calls` calls each), and the best
round of each is quoted, so a busy machine slows all three alike. The coroutines are driven
without an event loop: nothing here waits. Beside the times, the Python bytecodes each call runs
in all code (ours, Starlette's, Werkzeug's, json's): the same on every run, however busy the
machine.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from starlette.requests import Request

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from strangler.compat import requests as kit_now  # noqa: E402
from tests.support.bytecodes import bytecodes_per_call  # noqa: E402

# The commit before #26's speed-up of strangler/compat/requests.py.
BEFORE = "b22f727db465167d3b73e04687d335cc7a67e239"

BODY = json.dumps({"features": [0.5 + i for i in range(10)]}).encode()
HEADERS = [
    (b"host", b"127.0.0.1:8000"),
    (b"user-agent", b"python-httpx/0.28.1"),
    (b"accept", b"*/*"),
    (b"accept-encoding", b"gzip, deflate"),
    (b"connection", b"keep-alive"),
    (b"authorization", b"Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJiZW5jaCJ9.c2lnbmF0dXJl"),
    (b"content-type", b"application/json"),
    (b"content-length", str(len(BODY)).encode()),
]


# --- the baseline: migrated/body.py and migrated/headers.py as they were (git show 3d25641^) ---
class BodyError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def is_json(content_type: str | None) -> bool:
    mimetype = (content_type or "").partition(";")[0].strip(" \t").lower()
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )


def decode_json(content_type: str | None, body: bytes) -> Any:
    if not is_json(content_type):
        raise BodyError(415, "415 Unsupported Media Type")
    try:
        return json.loads(body)
    except ValueError as exc:
        raise BodyError(400, "400 Bad Request") from exc
    except RecursionError as exc:
        raise BodyError(500, str(exc)) from exc


def legacy_header(request: Request, name: str) -> str | None:
    values = request.headers.getlist(name)
    return ",".join(values) if values else None


# --- the calls ---
async def receive() -> dict[str, Any]:
    return {"type": "http.request", "body": BODY, "more_body": False}


def scope() -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/predict",
        "raw_path": b"/predict",
        "root_path": "",
        "query_string": b"",
        "headers": list(HEADERS),
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def hand() -> Any:
    request = Request(scope(), receive)
    return decode_json(legacy_header(request, "content-type"), await request.body())


def through(module: Any) -> Callable[[], Coroutine[Any, Any, Any]]:
    async def call() -> Any:
        request = Request(scope(), receive)
        return (await module.legacy_request(request)).get_json()

    return call


def run(call: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    """Drives a coroutine that never waits to its end, without an event loop."""
    coroutine = call()
    try:
        coroutine.send(None)
    except StopIteration as stop:
        return stop.value
    raise RuntimeError("the call waited")


def load_before(revision: str, into: Path) -> Any:
    """The kit's requests module at `revision`, imported from a copy in `into`."""
    source = subprocess.run(
        ["git", "show", f"{revision}:strangler/compat/requests.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = into / "compat_requests_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("compat_requests_before", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def round_of(call: Callable[[], Coroutine[Any, Any, Any]], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        run(call)
    return (time.perf_counter() - start) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--calls", type=int, default=5_000)
    parser.add_argument("--before", default=BEFORE, help="git revision of the kit before")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        before = load_before(args.before, Path(tmp))
    variants = {
        "hand decoding": hand,
        "kit before": through(before),
        "kit now": through(kit_now),
    }
    expected = json.loads(BODY)
    for name, call in variants.items():
        if run(call) != expected:
            raise SystemExit(f"{name} decodes the body wrongly")
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, call in variants.items():
            samples[name].append(round_of(call, args.calls))
    best = {name: min(values) for name, values in samples.items()}
    counted = {
        name: asyncio.run(bytecodes_per_call(call, under="/"))[0] for name, call in variants.items()
    }
    baseline = best["hand decoding"]
    print(f"{'variant':<16}{'best µs/call':>14}{'median':>9}{'vs hand':>10}{'bytecodes':>11}")
    for name, values in samples.items():
        median = sorted(values)[len(values) // 2]
        added = best[name] - baseline
        print(f"{name:<16}{best[name]:>14.2f}{median:>9.2f}{added:>+10.2f}{counted[name]:>11.0f}")
    gap = best["kit now"] - baseline
    print(f"kit now costs {gap:+.2f} µs more than hand decoding (within 10 µs): ", end="")
    print("ok" if gap <= 10 else "OVER")


if __name__ == "__main__":
    main()
