"""The regression model: where it lives, how it is trained, and the one loaded copy per process.

Importing this module does no I/O: the gateway imports both apps just to list their routes, so
the model is loaded (or trained, when the file is missing) on the first `get_model()` call only.
"""

from __future__ import annotations

import logging
import os
import pickle
import tempfile
import threading
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

# The repository root: the parent of the `migrated` package that holds this domain package.
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MODEL_PATH = REPO_ROOT / "var" / "model.pkl"

_lock = threading.Lock()
_model: Any = None


def model_path() -> Path:
    """Returns the model file path: env `ML_MODEL_PATH`, else `<repo>/var/model.pkl`."""
    return Path(os.environ.get("ML_MODEL_PATH") or DEFAULT_MODEL_PATH)


def train_model() -> Any:
    """Trains the RandomForestRegressor the legacy service was built with (deterministic)."""
    # Imported here so that importing the domain stays cheap for the gateway.
    from sklearn.datasets import make_regression
    from sklearn.ensemble import RandomForestRegressor

    x, y = make_regression(
        n_samples=1000, n_features=10, n_informative=8, noise=10, random_state=42
    )
    model = RandomForestRegressor(n_estimators=100, random_state=42)
    model.fit(x, y)
    return model


def save_model(model: Any, path: Path) -> None:
    """Pickles `model` to `path` atomically, so a concurrent reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as tmp:
            pickle.dump(model, tmp)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def train_and_save(path: Path | None = None) -> Path:
    """Trains the model and saves it to `path` (default: `model_path()`); returns the path."""
    target = path or model_path()
    save_model(train_model(), target)
    return target


def load_model(path: Path) -> Any:
    """Unpickles the model at `path` (our own file: pickle is only safe for trusted input)."""
    with path.open("rb") as f:
        return pickle.load(f)


def get_model() -> Any:
    """Returns this process's model, loading it once (training it first if the file is missing)."""
    global _model
    if _model is not None:
        return _model
    with _lock:
        if _model is None:
            path = model_path()
            if not path.exists():
                logger.warning("No model at %s; training one now (takes a few seconds).", path)
                train_and_save(path)
            _model = load_model(path)
            logger.info("Loaded model from %s", path)
    return _model


def is_loaded() -> bool:
    """Tells whether this process has loaded its model yet (the gateway must not trigger it)."""
    return _model is not None
