"""Worker memory while unauthenticated 9 MB POSTs to the admin API are held open (60, then 150).

Each attacker opens a connection to `/_strangler/flags` with no credential, declares a 9 MB JSON
body, sends as much of it as the gateway reads, and keeps the connection open; the worker's
resident memory (VmRSS) is sampled before, at its peak while they are all open, and after they
close. Also: what each attacker was answered, and how much of its body the gateway took.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from probes._common import rss_kib, serve_example, server_pid

SIZE = 9 * 2**20
TOKEN = "probe-admin-token-0123456789"
HOLD = 3.0  # seconds every connection stays open once its body is sent (or refused)


async def _attack(port: int, count: int, pid: int) -> dict:
    before = rss_kib(pid)
    peak = before
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_kib(pid))
            await asyncio.sleep(0.02)

    async def one() -> tuple[str, int]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        head = (
            b"POST /_strangler/flags HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % SIZE
        )
        writer.write(head)
        chunk = b'{"endpoint": "' + b"a" * (65536 - 14)
        sent = 0
        answer = b""
        deadline = time.monotonic() + 30
        try:
            while sent < SIZE and time.monotonic() < deadline:
                piece = chunk[: SIZE - sent]
                writer.write(piece)
                try:
                    await asyncio.wait_for(writer.drain(), 2)
                except TimeoutError:  # the gateway stopped reading: it has answered
                    break
                sent += len(piece)
            answer = await asyncio.wait_for(reader.read(100), 10)
        except (ConnectionError, OSError, TimeoutError):
            pass
        await asyncio.sleep(HOLD)  # held open, as the attack holds it
        writer.close()
        status = answer[9:12].decode(errors="replace") or "none"
        return status, sent

    sampler = asyncio.create_task(sample())
    outcomes = await asyncio.gather(*(one() for _ in range(count)))
    done.set()
    await sampler
    await asyncio.sleep(1)
    statuses: dict[str, int] = {}
    for status, _ in outcomes:
        statuses[status] = statuses.get(status, 0) + 1
    return {
        "connections": count,
        "rss_before_mib": round(before / 1024, 1),
        "rss_peak_mib": round(peak / 1024, 1),
        "rss_after_mib": round(rss_kib(pid) / 1024, 1),
        "statuses": statuses,
        "body_sent_mib_median": round(sorted(s for _, s in outcomes)[count // 2] / 2**20, 2),
    }


def run(work: Path) -> dict:
    with serve_example(work, env={"STRANGLER_ADMIN_TOKEN": TOKEN}) as (_, port):
        pid = server_pid(port)
        return {
            "held_60": asyncio.run(_attack(port, 60, pid)),
            "held_150": asyncio.run(_attack(port, 150, pid)),
        }
