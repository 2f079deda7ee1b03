"""What the API says about its model, and the shape limits both apps enforce."""

from __future__ import annotations

from typing import Final

MODEL_VERSION: Final = "1.0"
N_FEATURES: Final = 10
MAX_BATCH_SAMPLES: Final = 100

# The body of GET /model-info, exactly as legacy has always answered it.
MODEL_INFO: Final[dict[str, object]] = {
    "version": MODEL_VERSION,
    "input_features": N_FEATURES,
    "model_type": "random_forest",
    "training_date": "2024-01-15",
}
