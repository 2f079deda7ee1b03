"""Running the server, and stopping it with a bounded drain: the listener closed first.

uvicorn drains a stopping server by closing its listening socket, then waiting for what is in
flight, up to `timeout_graceful_shutdown` (the `drain_timeout` setting) before it cancels the
rest. With several workers the supervisor holds a copy of the listening socket too, and uvicorn's
keeps it open until every worker has exited: the kernel went on completing connections that no
worker would ever accept, so a request sent during the drain hung until it ended. This
supervisor closes its copy as soon as it is told to stop, so such a request is refused at
connect, as under one worker.
"""

from __future__ import annotations

import sys

from uvicorn import Config, Server
from uvicorn.supervisors import Multiprocess

# uvicorn's exit status for a server that never started (uvicorn.main.STARTUP_FAILURE).
STARTUP_FAILURE = 3


class ClosingMultiprocess(Multiprocess):
    """uvicorn's supervisor of worker processes, closing its listening socket before it tells
    the workers to stop."""

    def terminate_all(self) -> None:
        for sock in self.sockets:
            sock.close()
        super().terminate_all()


def run(config: Config) -> None:
    """Serves `config` until stopped, as `uvicorn.run` does (one process, or a supervisor of
    `config.workers` processes); exits with uvicorn's status if it never started."""
    if config.workers > 1:
        ClosingMultiprocess(config, sockets=[config.bind_socket()]).run()
        return
    server = Server(config)
    server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)
