"""The migrated FastAPI app: the legacy API's contract, served async. Wiring only.

Run it alone with `uvicorn migrated.app:app`, or let the Strangler gateway route to it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response

from migrated import flask_compat
from migrated.deps import new_batcher
from migrated.domain import get_model
from migrated.errors import ApiError, FlaskError
from migrated.responses import FlaskJSONResponse, error, flask_page
from migrated.routers import auth, meta, predictions

logger = logging.getLogger(__name__)


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


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error(exc.status, exc.message)


async def _flask_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, FlaskError)
    if exc.status == 500:  # Flask logged the traceback of what the view did not catch.
        logger.error("Exception on %s [%s]: %s", request.url.path, request.method, exc)
    return flask_page(exc.status)


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
    default_response_class=FlaskJSONResponse,
    lifespan=lifespan,
    redirect_slashes=False,  # Flask answers /health/ with 404, not a redirect to /health.
    routes=[*_routes, *flask_compat.implicit_routes(_routes)],
)
app.add_exception_handler(ApiError, _api_error)
app.add_exception_handler(FlaskError, _flask_error)
flask_compat.install_error_pages(app)
