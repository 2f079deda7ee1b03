"""A flood of keep-alive connections posting as fast as they are answered, in a process of its own.

    python -m tests.support.flood PORT CONNECTIONS SECONDS PATH

Each connection sends its next request as soon as the last is answered (503s included, with no
backoff), as scripts/hostile's overload does. It prints "flooding" once every connection has
been opened, then at the end the count of answers by status as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time


async def flood(port: int, connections: int, seconds: float, path: str) -> dict[int, int]:
    request = b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n" % path.encode()
    stop = time.monotonic() + seconds
    statuses: dict[int, int] = {}
    opened = 0

    async def client() -> None:
        nonlocal opened
        first = True
        while time.monotonic() < stop:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            if first:
                first, opened = False, opened + 1
                if opened == connections:
                    print("flooding", flush=True)
            try:
                while time.monotonic() < stop:
                    writer.write(request)
                    status = int((await asyncio.wait_for(reader.readline(), 30)).split()[1])
                    length = 0
                    while (line := await reader.readline()) not in (b"\r\n", b""):
                        if line.lower().startswith(b"content-length:"):
                            length = int(line.split(b":")[1])
                    await reader.readexactly(length)
                    statuses[status] = statuses.get(status, 0) + 1
            except (OSError, ValueError, IndexError, TimeoutError, asyncio.IncompleteReadError):
                pass
            finally:
                writer.close()

    await asyncio.gather(*(client() for _ in range(connections)))
    return statuses


if __name__ == "__main__":
    port, connections, seconds, path = sys.argv[1:5]
    counts = asyncio.run(flood(int(port), int(connections), float(seconds), path))
    print(json.dumps(counts))
