"""The legacy Flask ML API, kept exactly as clients have known it for two years.

Every status code, message and quirk here is the behaviour spec the migrated app must keep:
a cache hit answers without `model_version`; a token is accepted with or without "Bearer ";
any falsy JSON body (`{}`, `[]`, `0`, `null`, `""`) is "No data provided"; and inside /predict
and /batch-predict every exception, even Flask's own 400/415 for a bad body, becomes a 500 with
`{"error": str(exc)}`. /login has no such net, so Flask answers its bad bodies itself (HTML).

The model, cache and token rules come from `migrated.domain`, shared with the migrated app.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any

from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue

from migrated.domain import (
    MAX_BATCH_SAMPLES,
    MODEL_INFO,
    MODEL_VERSION,
    N_FEATURES,
    TokenError,
    check_authorization_header,
    issue_token,
    predict_batch,
    predict_one,
    prediction_cache,
)

app = Flask(__name__)


def _error(message: str, status: int) -> ResponseReturnValue:
    return jsonify({"error": message}), status


def token_required(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
    """Answers 401 unless the Authorization header carries a valid token; runs `view` otherwise."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        try:
            check_authorization_header(request.headers.get("Authorization"))
        except TokenError as exc:
            return _error(str(exc), 401)
        return view(*args, **kwargs)

    return guarded


@app.get("/health")
def health() -> ResponseReturnValue:
    """Says the service is up, with the current UTC time (ISO 8601, no offset)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    return jsonify({"status": "healthy", "timestamp": now.isoformat()})


@app.get("/model-info")
def model_info() -> ResponseReturnValue:
    """Describes the served model."""
    return jsonify(MODEL_INFO)


@app.post("/login")
def login() -> ResponseReturnValue:
    """Exchanges the demo credentials for a 24-hour token."""
    data = request.get_json()  # No try: Flask itself answers a bad body with HTML 400/415.
    if not data or "username" not in data or "password" not in data:
        return _error("Missing credentials", 400)
    # A JSON string or list holding both names gets here and fails with a TypeError (HTML 500).
    if data["username"] == "admin" and data["password"] == "password":
        return jsonify({"token": issue_token(data["username"])})
    return _error("Invalid credentials", 401)


@app.post("/predict")
@token_required
def predict() -> ResponseReturnValue:
    """Predicts one row of 10 features, answering repeats from the shared cache."""
    try:
        data = request.get_json()
        if not data:
            return _error("No data provided", 400)
        # `in` and `[]` work on any JSON value: a string body means a substring test, then
        # a TypeError that becomes a 500 below, as it always has.
        if "features" not in data:
            return _error("Missing features field", 400)
        features = data["features"]
        if not isinstance(features, list):
            return _error("Features must be a list", 400)
        if len(features) != N_FEATURES:
            return _error(f"Expected {N_FEATURES} features", 400)

        key = prediction_cache.key(features)
        cached = prediction_cache.get(key)
        if cached is not None:
            return jsonify({"prediction": cached, "cached": True})  # No model_version: a quirk.

        prediction = predict_one(features)
        prediction_cache.set(key, prediction)
        return jsonify({"prediction": prediction, "cached": False, "model_version": MODEL_VERSION})
    except Exception as exc:
        return _error(str(exc), 500)


@app.post("/batch-predict")
@token_required
def batch_predict() -> ResponseReturnValue:
    """Predicts up to 100 rows of 10 features in one model call (no cache)."""
    try:
        data = request.get_json()
        if not data:
            return _error("No data provided", 400)
        if "samples" not in data:
            return _error("Missing samples field", 400)
        samples = data["samples"]
        if not isinstance(samples, list):
            return _error("Samples must be a list", 400)
        if len(samples) > MAX_BATCH_SAMPLES:
            return _error(f"Maximum {MAX_BATCH_SAMPLES} samples allowed", 400)
        for i, sample in enumerate(samples):
            if not isinstance(sample, list):
                return _error(f"Sample {i} must be a list", 400)
            if len(sample) != N_FEATURES:
                return _error(f"Sample {i} must have {N_FEATURES} features", 400)

        predictions = predict_batch(samples)  # An empty list fails in sklearn: a 500, as before.
        return jsonify(
            {"predictions": predictions, "count": len(predictions), "model_version": MODEL_VERSION}
        )
    except Exception as exc:
        return _error(str(exc), 500)
