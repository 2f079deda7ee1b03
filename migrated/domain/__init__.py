"""What legacy and migrated share: the model, its prediction cache, token rules and model info.

This is the only part of `migrated` that legacy may import. Nothing here loads the model at
import time.
"""

from __future__ import annotations

from .cache import PredictionCache, prediction_cache
from .info import MAX_BATCH_SAMPLES, MODEL_INFO, MODEL_VERSION, N_FEATURES
from .model import get_model, is_loaded, model_path, train_and_save
from .predict import predict_batch, predict_one, predict_rows, predict_samples
from .tokens import TokenError, check_authorization_header, issue_token, secret_key

__all__ = [
    "MAX_BATCH_SAMPLES",
    "MODEL_INFO",
    "MODEL_VERSION",
    "N_FEATURES",
    "PredictionCache",
    "TokenError",
    "check_authorization_header",
    "get_model",
    "is_loaded",
    "issue_token",
    "model_path",
    "predict_batch",
    "predict_one",
    "predict_rows",
    "predict_samples",
    "prediction_cache",
    "secret_key",
    "train_and_save",
]
