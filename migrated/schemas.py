"""The request and response models: the API's contract, as legacy clients know it.

Request models validate only what legacy validated, after legacy's own checks on the raw body
(see `migrated.validation`); feature values stay `Any` because legacy passed them to numpy
untouched (numeric strings and `null` work, other values fail in the model with a 500).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from migrated.domain import MAX_BATCH_SAMPLES, MODEL_VERSION, N_FEATURES

EXAMPLE_FEATURES = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]

Features = Annotated[
    list[Any],
    Field(
        strict=True,
        min_length=N_FEATURES,
        max_length=N_FEATURES,
        description=f"Exactly {N_FEATURES} numbers (a `null` counts as a missing value).",
        json_schema_extra={"items": {"type": "number"}, "examples": [EXAMPLE_FEATURES]},
    ),
]


class LoginRequest(BaseModel):
    """Credentials for /login."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"username": "admin", "password": "password"}]}
    )

    # Any, not str: legacy compared whatever arrived, so a number is just a wrong credential (401).
    username: Any = Field(
        description="The demo accepts `admin`.", json_schema_extra={"type": "string"}
    )
    password: Any = Field(
        description="The demo accepts `password`.", json_schema_extra={"type": "string"}
    )


class TokenResponse(BaseModel):
    """A token for the Authorization header of /predict and /batch-predict."""

    token: str = Field(description="An HS256 JWT valid for 24 hours; send it as `Bearer <token>`.")


class PredictRequest(BaseModel):
    """One row to predict."""

    features: Features


class PredictResponse(BaseModel):
    """A prediction; a cache hit answers without `model_version`, as legacy always did."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"prediction": 227.32442644860504, "cached": False, "model_version": MODEL_VERSION},
                {"prediction": 227.32442644860504, "cached": True},
            ]
        }
    )

    prediction: float
    cached: bool
    model_version: str | None = Field(default=None, description="Absent on a cache hit.")


class BatchPredictRequest(BaseModel):
    """Up to 100 rows to predict in one call (never cached)."""

    samples: Annotated[
        list[Features],
        Field(
            strict=True,
            max_length=MAX_BATCH_SAMPLES,
            description=f"At most {MAX_BATCH_SAMPLES} rows (an empty list is a 500, as in legacy).",
        ),
    ]


class BatchPredictResponse(BaseModel):
    """One prediction per sample, in order."""

    predictions: list[float]
    count: int
    model_version: str = Field(examples=[MODEL_VERSION])


class HealthResponse(BaseModel):
    """Liveness."""

    status: str = Field(examples=["healthy"])
    timestamp: str = Field(
        description="UTC time, ISO 8601 without offset.", examples=["2024-01-15T12:00:00.000000"]
    )


class ModelInfoResponse(BaseModel):
    """What model is served."""

    version: str = Field(examples=[MODEL_VERSION])
    input_features: int = Field(examples=[N_FEATURES])
    model_type: str = Field(examples=["random_forest"])
    training_date: str = Field(examples=["2024-01-15"])


class ErrorResponse(BaseModel):
    """Every JSON error legacy answered: 400 for a bad body, 401 for a bad token, 500 otherwise."""

    error: str = Field(examples=["Expected 10 features"])
