"""POST /predict and POST /batch-predict, behind legacy's token check.

Auth runs first (a dependency), then the body is decoded and checked in legacy's order. Inside
these routes legacy turned every exception into a 500 with its text, even Flask's own
400/415 for a bad body; so do we. Inference never runs on the event loop: /predict cache misses
go through the micro-batcher, /batch-predict runs in a worker thread.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter

from migrated.deps import Batcher, Claims
from migrated.docs import TOKEN_ERRORS, json_error, request_body
from migrated.domain import MODEL_VERSION, predict_samples, prediction_cache
from migrated.errors import ApiError
from migrated.schemas import (
    BatchPredictRequest,
    BatchPredictResponse,
    PredictRequest,
    PredictResponse,
)
from migrated.validation import batch_predict_request, predict_request
from strangler.compat import FlaskJSONResponse, Legacy, LegacyRequest, jsonify

router = APIRouter(tags=["predictions"])

_BODY_500 = (
    "Anything that fails, as `str(exc)`: a malformed or non-JSON body (werkzeug's text), "
    "or a value the model rejects (infinity, strings, nesting...)."
)


def _json_body(request: LegacyRequest) -> object:
    try:
        return request.get_json()
    except Exception as exc:  # Werkzeug's 400/415 (or a RecursionError): legacy's net made a 500
        raise ApiError(500, str(exc)) from exc


@router.post(
    "/predict",
    response_model=PredictResponse,
    openapi_extra=request_body(PredictRequest),
    responses={
        400: json_error(
            "The body is not a valid request.",
            "No data provided",
            "Missing features field",
            "Features must be a list",
            "Expected 10 features",
        ),
        **TOKEN_ERRORS,
        500: json_error(
            _BODY_500, "Input X contains infinity or a value too large for dtype('float32')."
        ),
    },
)
async def predict(_claims: Claims, batcher: Batcher, request: Legacy) -> FlaskJSONResponse:
    """Predicts one row; repeats of the same row are answered from the shared cache."""
    features = predict_request(_json_body(request)).features
    key = prediction_cache.key(features)
    cached = prediction_cache.get(key)
    if cached is not None:  # Legacy's cache hits never carried model_version.
        return jsonify({"prediction": cached, "cached": True})
    try:
        prediction = await batcher.submit(features)
    except Exception as exc:
        raise ApiError(500, str(exc)) from exc
    prediction_cache.set(key, prediction)
    return jsonify({"prediction": prediction, "cached": False, "model_version": MODEL_VERSION})


@router.post(
    "/batch-predict",
    response_model=BatchPredictResponse,
    openapi_extra=request_body(BatchPredictRequest),
    responses={
        400: json_error(
            "The body is not a valid request.",
            "No data provided",
            "Missing samples field",
            "Samples must be a list",
            "Maximum 100 samples allowed",
            "Sample 0 must be a list",
            "Sample 0 must have 10 features",
        ),
        **TOKEN_ERRORS,
        500: json_error(_BODY_500, "could not convert string to float: np.str_('a')"),
    },
)
async def batch_predict(_claims: Claims, request: Legacy) -> FlaskJSONResponse:
    """Predicts up to 100 rows in one model call, in a worker thread (never cached)."""
    samples = batch_predict_request(_json_body(request)).samples
    try:
        predictions = await asyncio.to_thread(predict_samples, samples)
    except Exception as exc:
        raise ApiError(500, str(exc)) from exc
    return jsonify(
        {"predictions": predictions, "count": len(predictions), "model_version": MODEL_VERSION}
    )
