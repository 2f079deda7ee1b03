"""Legacy's body checks, in legacy's order, with Pydantic doing the typed part.

Legacy tested `not data`, then `"features" in data`, then `data["features"]` on whatever JSON
value arrived. Those first steps run as the same Python operations on the same decoded value,
so odd bodies fail with the very same TypeError text (a JSON string means a substring test, an
integer "is not iterable"). What remains, the shape of the field, is validated by the Pydantic
models and each failure is mapped back to legacy's message.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from migrated.domain import MAX_BATCH_SAMPLES, N_FEATURES
from migrated.errors import ApiError
from migrated.schemas import BatchPredictRequest, LoginRequest, PredictRequest

_LENGTH = ("too_short", "too_long")


def field_of(data: Any, name: str) -> Any:
    """Returns `data[name]` as legacy reached it, or raises ApiError with legacy's message."""
    if not data:
        raise ApiError(400, "No data provided")
    try:
        if name not in data:
            raise ApiError(400, f"Missing {name} field")
        return data[name]
    except TypeError as exc:  # Non-object bodies: legacy's catch-all turned these into 500s.
        raise ApiError(500, str(exc)) from exc


def predict_request(data: Any) -> PredictRequest:
    """Validates a /predict body; raises ApiError exactly where legacy answered an error."""
    features = field_of(data, "features")
    try:
        return PredictRequest.model_validate({"features": features})
    except ValidationError as exc:
        kind = exc.errors()[0]["type"]
        if kind in _LENGTH:
            raise ApiError(400, f"Expected {N_FEATURES} features") from exc
        raise ApiError(400, "Features must be a list") from exc


def batch_predict_request(data: Any) -> BatchPredictRequest:
    """Validates a /batch-predict body; raises ApiError exactly where legacy answered an error."""
    samples = field_of(data, "samples")
    try:
        return BatchPredictRequest.model_validate({"samples": samples})
    except ValidationError as exc:
        raise ApiError(400, _batch_message(exc)) from exc


def _batch_message(exc: ValidationError) -> str:
    """Picks the error legacy reported first: the list itself, then the lowest bad sample."""
    errors = exc.errors()
    for error in errors:
        if error["loc"] == ("samples",):
            if error["type"] == "too_long":
                return f"Maximum {MAX_BATCH_SAMPLES} samples allowed"
            return "Samples must be a list"
    index, kind = min((int(e["loc"][1]), e["type"]) for e in errors)
    if kind in _LENGTH:
        return f"Sample {index} must have {N_FEATURES} features"
    return f"Sample {index} must be a list"


def login_request(data: Any) -> LoginRequest:
    """Validates a /login body; raises where legacy answered 400 JSON or Flask's HTML 500."""
    # Legacy had no try here: what its checks raised (a number's `in`: TypeError) escaped the
    # view, and Flask logged it and answered its 500 page; compat does the same for what escapes.
    if not data or "username" not in data or "password" not in data:
        raise ApiError(400, "Missing credentials")
    # A string or list naming both fields failed at legacy's data["username"]; here, as a model.
    return LoginRequest.model_validate(data)
