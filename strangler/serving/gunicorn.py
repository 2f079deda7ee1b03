"""gunicorn's worker for the gateway: `gunicorn -k strangler.serving.gunicorn.Worker app:app`.

uvicorn's worker for gunicorn (the `uvicorn-worker` package; `uvicorn.workers` is deprecated),
running GuardedProtocol, so the gateway's connection limits (strangler.serving.limits) hold under
gunicorn as under `strangler serve`. The limits are the settings' (`build_gateway` sets them in
each worker as it loads the app); the legacy pool, shedding and `body_limits` are the gateway's
own and hold under any server. gunicorn's own options keep their meaning: `--workers`,
`--keep-alive`, `--graceful-timeout` (the drain).

    pip install 'strangler[gunicorn]'
    gunicorn -k strangler.serving.gunicorn.Worker -w 2 -b 0.0.0.0:8000 app.main:app

`app.main:app` is a module of the service's that builds the gateway from its settings
(`app = build_gateway(load_settings(...))`, as this repository's app/main.py). With several
workers, set PROMETHEUS_MULTIPROC_DIR to an empty folder so a scrape adds every worker's
metrics up (`strangler serve` does this itself).
"""

from __future__ import annotations

from typing import Any, ClassVar

from uvicorn_worker import UvicornWorker

from strangler.serving.protocol import GuardedProtocol


class Worker(UvicornWorker):  # type: ignore[misc]
    """UvicornWorker with GuardedProtocol as its HTTP protocol (httptools, with the limits)."""

    CONFIG_KWARGS: ClassVar[dict[str, Any]] = {"loop": "auto", "http": GuardedProtocol}
