"""The request log, one JSON line per request (strangler.metrics.requestlog), in process."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from strangler.metrics.requestlog import RequestLog
from tests.support.observed import ADMIN, client_for, set_flag


async def test_the_request_log_has_one_json_line_per_request(tmp_path: Path) -> None:
    log = tmp_path / "requests.log"
    async for gateway, client in client_for(request_log=str(log), sticky="header:x-user"):
        await set_flag(client, "GET /ok", "canary", 50)
        answers = [await client.get("/ok", headers={"x-user": f"u{i}"}) for i in range(20)]
        await client.get("/nowhere")
        assert gateway.runtime.request_log is not None
        gateway.runtime.request_log.flush()
        lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(lines) == 21
    for line, answer in zip(lines, answers, strict=False):
        assert line["request_id"] == answer.headers["x-request-id"]
        assert line["endpoint"] == "GET /ok"
        assert line["method"] == "GET"
        assert line["backend"] == answer.headers["x-strangler-backend"]
        assert line["reason"] == "split"
        assert 0 <= line["bucket"] < 10_000
        assert line["status"] == 200
        assert line["ms"] > 0
        assert line["flags"] == 1
    assert {line["backend"] for line in lines[:20]} == {"legacy", "migrated"}
    assert lines[20]["endpoint"] is None
    assert lines[20]["status"] == 404


# Writes request lines into a file whose size the kernel caps (RLIMIT_FSIZE): the write that
# crosses the cap is cut short, as on a full disk, then refused (EFBIG). Run apart, so the cap
# touches no file of the test run's.
CAPPED = """
import asyncio, resource, signal, sys
from strangler.metrics.requestlog import RequestLog

async def main() -> None:
    log = RequestLog(sys.argv[1])
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an error from write(), not a signal
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[2]), resource.RLIM_INFINITY))
    for i in range(int(sys.argv[3])):
        log.write(b"id-%d" % i, "GET", "GET /ok", "legacy", "default", None, 1, 200, 0.0012)
        if i % 7 == 6:
            log.flush()  # batches of seven lines: one of them is cut part-way
    log.close()
    print(log.dropped)

asyncio.run(main())
"""


def test_a_write_cut_short_by_a_full_disk_leaves_only_whole_lines(tmp_path: Path) -> None:
    """A batch the disk takes only part of is cut back to its last whole line; the lines left
    out are dropped and counted, and the log is all whole JSON lines (#22)."""
    path = tmp_path / "requests.log"
    argv = [sys.executable, "-c", CAPPED, str(path), "3000", "100"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    text = path.read_text()
    assert text.endswith("\n")
    lines = [json.loads(line) for line in text.splitlines()]
    assert [line["request_id"] for line in lines] == [f"id-{i}" for i in range(len(lines))]
    assert 0 < len(lines) < 100
    assert int(done.stdout) == 100 - len(lines)
    assert "cannot be written" in done.stderr


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A real filesystem of 64 KiB (a tmpfs: needs root and a kernel that lets us mount)."""
    folder = tmp_path / "small"
    folder.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


async def test_a_full_disk_drops_whole_lines_and_the_log_resumes_when_space_returns(
    full_disk: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """On a filesystem that fills up, the log keeps only whole lines, says so once however
    many batches are lost, counts every line dropped, and writes again once space is freed."""
    filler = full_disk / "filler"
    filler.write_bytes(b"x" * 40_000)
    dropped: list[int] = []
    log = RequestLog(str(full_disk / "requests.log"), on_drop=dropped.append)
    written = 0
    with caplog.at_level(logging.WARNING, logger="strangler.requests"):
        for i in range(2_000):  # about 120 KiB of lines: twice what the disk has left
            log.write(b"id-%d" % i, "GET", "GET /ok", "legacy", "default", None, 1, 200, 0.001)
            written += 1
            if i % 7 == 6:
                log.flush()
        log.flush()
        full = len((full_disk / "requests.log").read_text().splitlines())
        filler.unlink()
        for i in range(2_000, 2_010):
            log.write(b"id-%d" % i, "GET", "GET /ok", "legacy", "default", None, 1, 200, 0.001)
        log.close()
    text = (full_disk / "requests.log").read_text()
    lines = [json.loads(line) for line in text.splitlines()]
    assert 0 < full < 2_000
    assert sum(dropped) == log.dropped == 2_000 - full
    assert [line["request_id"] for line in lines[full:]] == [f"id-{i}" for i in range(2_000, 2_010)]
    cannot = [r for r in caplog.records if "cannot be written" in r.getMessage()]
    assert len(cannot) == 1
    assert any("written again" in r.getMessage() for r in caplog.records)


async def test_lines_dropped_by_the_request_log_are_counted_in_the_metrics(
    tmp_path: Path,
) -> None:
    """Lines the request log could not write show in strangler_request_log_dropped_lines_total."""
    log = tmp_path / "requests.log"
    async for gateway, client in client_for(request_log=str(log)):
        request_log = gateway.runtime.request_log
        assert request_log is not None
        # Its descriptor swapped for one that refuses writes (EBADF), as a closed pipe would.
        os.close(request_log._fd)
        request_log._fd = os.open(os.devnull, os.O_RDONLY)
        for _ in range(3):
            await client.get("/ok")
        request_log.flush()
        text = (await client.get("/_strangler/metrics", headers=ADMIN)).text
    assert "strangler_request_log_dropped_lines_total 3.0" in text
