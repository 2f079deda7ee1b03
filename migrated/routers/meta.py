"""Service metadata: /health and /model-info."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter

from migrated.domain import MODEL_INFO
from migrated.schemas import HealthResponse, ModelInfoResponse
from strangler.compat import FlaskJSONResponse, jsonify

router = APIRouter(tags=["service"])


@router.get("/health", response_model=HealthResponse)
async def health() -> FlaskJSONResponse:
    """Says the service is up, with the current UTC time (ISO 8601, no offset, like legacy)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    return jsonify({"status": "healthy", "timestamp": now.isoformat()})


@router.get("/model-info", response_model=ModelInfoResponse)
async def model_info() -> FlaskJSONResponse:
    """Describes the served model."""
    return jsonify(MODEL_INFO)
