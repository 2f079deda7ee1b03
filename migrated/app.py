"""The migrated FastAPI app: the legacy API's contract, served async. Wiring only.

Run it alone with `uvicorn migrated.app:app`, or let the Strangler gateway route to it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from migrated.deps import new_batcher
from migrated.domain import get_model
from migrated.routers import auth, meta, predictions
from strangler import compat


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Loads the model before the first request; on shutdown, answers every queued prediction."""
    await asyncio.to_thread(get_model)  # Trains it first if the file is missing.
    app.state.batcher = new_batcher()
    await app.state.batcher.start()
    try:
        yield
    finally:
        await app.state.batcher.close()
        app.state.batcher = None


# Routes are passed flat (not via include_router) so `app.routes` lists every endpoint: the
# gateway reads it to learn which endpoints this app can serve.
_routes = [*meta.router.routes, *auth.router.routes, *predictions.router.routes]

app = FastAPI(
    title="ML prediction API",
    version="1.0",
    description=(
        "The legacy Flask ML API, migrated to FastAPI with its contract unchanged: the same "
        "requests get the same status codes and the same JSON bytes, errors included "
        '(`{"error": "..."}` with 400, 401 or 500, never 422).'
    ),
    default_response_class=compat.FlaskJSONResponse,
    lifespan=lifespan,
    redirect_slashes=False,  # Flask answers /health/ with 404, not a redirect to /health.
    # Flask answered OPTIONS on every route and HEAD on every GET route by itself.
    routes=[*_routes, *compat.implicit_routes(_routes)],
)
# Unknown paths and methods, raised ApiErrors and Werkzeug errors: answered as legacy answered.
compat.install_legacy_errors(app)
