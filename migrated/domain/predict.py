"""The model calls both apps make, so every answer and every error message is the same.

Legacy built its input with `np.array([features])` and reported `str(exc)` of whatever numpy or
sklearn raised (NaN is accepted, infinity and strings are not). These functions keep that exact
conversion. `predict_rows` serves the migrated app's micro-batcher: it predicts many single rows
in one model call where that is provably bit-identical, and falls back to one call per row where
a row would fail, so a bad row gets legacy's own error and never fails its neighbours.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.ensemble import RandomForestRegressor

from .info import N_FEATURES
from .model import get_model

# The model validates its input as float32; anything beyond this overflows to infinity.
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def predict_one(features: Any) -> float:
    """Returns legacy's `model.predict(np.array([features]))[0]` as a float, or raises its error."""
    # Legacy ran without numpy's overflow warning being an error; keep the answer (sklearn's
    # "Input X contains infinity ...") identical even where warnings are errors, as in tests.
    with np.errstate(over="ignore"):
        return float(get_model().predict(np.array([features]))[0])


def predict_batch(samples: Any) -> list[float]:
    """Returns legacy's `model.predict(np.array(samples))` as floats; raises what it raised."""
    with np.errstate(over="ignore"):
        return [float(p) for p in get_model().predict(np.array(samples))]


def _forest_predict(model: Any, X32: np.ndarray) -> np.ndarray:
    """`model.predict(X32)` for finite float32 rows, without sklearn's per-call joblib dispatch.

    sklearn spends ~6 ms per `predict` call of a 100-tree forest dispatching one joblib task per
    tree; the trees themselves take ~0.5 ms. With `n_jobs=None` sklearn adds the trees'
    predictions into a float64 zero vector in estimator order and then divides by their count;
    this does the same arithmetic in the same order, so results are bit-identical (tested).
    Any other model, or a forest that predicts in parallel (summing in a different order), is
    left to its own `predict`.
    """
    if (
        type(model) is not RandomForestRegressor
        or model.n_outputs_ != 1
        or model.n_jobs
        not in (
            None,
            1,
        )
    ):
        return np.asarray(model.predict(X32))
    y = np.zeros(X32.shape[0], dtype=np.float64)
    for tree in model.estimators_:
        y += tree.tree_.predict(X32)[:, 0]
    y /= len(model.estimators_)
    return y


def predict_samples(samples: Any) -> list[float]:
    """`predict_batch` for the migrated app: the fast forest path when every value is a finite
    number in float32 range, else legacy's own call (and so legacy's own errors)."""
    array = np.array(samples) if isinstance(samples, list) and samples else None
    if array is not None and array.ndim == 2 and array.shape[1] == N_FEATURES and _plain(array):
        # The whole array cast at once, as sklearn's own validation casts it.
        return [float(p) for p in _forest_predict(get_model(), array.astype(np.float32))]
    return predict_batch(samples)


def _plain(array: np.ndarray) -> bool:
    """Numbers only, all finite and within float32 range: the model's cast changes no value."""
    if array.dtype.kind == "f":
        return bool(np.all(np.abs(array) <= _FLOAT32_MAX))  # False for NaN and infinity too.
    return array.dtype.kind in "biu"


def _batchable(row: np.ndarray) -> bool:
    """Tells whether a legacy-built row can share a model call without changing any result.

    Only plain numeric rows of the right shape, all finite and within float32 range, qualify:
    their float32 cast is exactly the one the model would make on the row alone. Anything else
    (NaN, infinity, strings, objects, nesting) takes legacy's single-row path.
    """
    return row.shape == (1, N_FEATURES) and _plain(row)


def predict_rows(rows: Sequence[Any]) -> list[float | Exception]:
    """Predicts each row as `predict_one` would, in as few model calls as possible.

    Returns one outcome per row, in order: the prediction, or the exception `predict_one` raises
    for that row alone.
    """
    outcomes: dict[int, float | Exception] = {}
    arrays: dict[int, np.ndarray] = {}
    for i, features in enumerate(rows):
        try:
            arrays[i] = np.array([features])
        except Exception as exc:  # e.g. inhomogeneous nesting: legacy failed right here too.
            outcomes[i] = exc
    batch = [i for i, row in arrays.items() if _batchable(row)]
    if batch:
        # Cast row by row (as the model casts a single row), then stack: no row's dtype is
        # influenced by its neighbours', so each prediction is bit-identical to legacy's.
        stacked = np.concatenate([arrays[i].astype(np.float32) for i in batch])
        try:
            predictions = _forest_predict(get_model(), stacked)
        except Exception:
            batch = []  # Never expected; the single-row path below gives each row its own answer.
        else:
            for i, prediction in zip(batch, predictions, strict=True):
                outcomes[i] = float(prediction)
    for i, features in enumerate(rows):
        if i not in outcomes:
            try:
                outcomes[i] = predict_one(features)
            except Exception as exc:
                outcomes[i] = exc
    return [outcomes[i] for i in range(len(rows))]
