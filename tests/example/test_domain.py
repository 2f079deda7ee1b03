"""The shared domain: model file handling, token rules and the prediction cache."""

from __future__ import annotations

import logging
import os
import pickle
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from migrated.domain import (
    PredictionCache,
    TokenError,
    check_authorization_header,
    issue_token,
    model_path,
    tokens,
)
from migrated.domain.model import REPO_ROOT, save_model

REPO = Path(__file__).resolve().parents[2]


def test_model_path_defaults_to_var_in_the_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without ML_MODEL_PATH the model lives at <repo>/var/model.pkl."""
    monkeypatch.delenv("ML_MODEL_PATH")
    assert REPO_ROOT == REPO
    assert model_path() == REPO / "var" / "model.pkl"


def test_save_model_replaces_the_file_atomically(tmp_path: Path) -> None:
    """Saving writes a temporary file then renames it: no partial file, no leftovers."""
    target = tmp_path / "deep" / "model.pkl"
    save_model({"weights": [1, 2, 3]}, target)
    save_model({"weights": [4]}, target)
    assert pickle.loads(target.read_bytes()) == {"weights": [4]}
    assert sorted(p.name for p in target.parent.iterdir()) == ["model.pkl"]


def test_two_processes_train_a_missing_model_safely(tmp_path: Path) -> None:
    """Two workers starting together on a missing model both train, save and load it."""
    path = tmp_path / "model.pkl"
    code = "from migrated.domain import get_model; print(type(get_model()).__name__)"
    env = {**os.environ, "ML_MODEL_PATH": str(path)}
    workers = [
        subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env=env, stdout=subprocess.PIPE)
        for _ in range(2)
    ]
    outputs = [worker.communicate(timeout=120)[0] for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0]
    assert outputs == [b"RandomForestRegressor\n"] * 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pkl"]


def test_train_model_script_saves_where_it_says(tmp_path: Path) -> None:
    """scripts/train-model trains into ML_MODEL_PATH and prints the path."""
    path = tmp_path / "trained.pkl"
    env = {**os.environ, "ML_MODEL_PATH": str(path)}
    result = subprocess.run(
        [str(REPO / "scripts" / "train-model")], env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == f"Model saved to {path}"
    assert path.stat().st_size > 0


def test_tokens_carry_user_and_expiry() -> None:
    """An issued token decodes to its user and an `exp` claim."""
    claims = check_authorization_header(f"Bearer {issue_token('admin')}")
    assert set(claims) == {"user", "exp"}
    assert claims["user"] == "admin"


@pytest.mark.parametrize(
    ("header", "message"),
    [(None, "Token is missing"), ("", "Token is missing"), ("Bearer", "Token is invalid")],
)
def test_bad_headers_raise_legacys_messages(header: str | None, message: str) -> None:
    """A missing or empty header is "Token is missing"; an undecodable one "Token is invalid"."""
    with pytest.raises(TokenError, match=f"^{message}$"):
        check_authorization_header(header)


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_dev_secret_is_used_with_one_loud_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Without ML_API_SECRET_KEY the dev secret signs tokens, and a warning is logged once."""
    monkeypatch.delenv("ML_API_SECRET_KEY")
    monkeypatch.setattr(tokens, "_warned", threading.Event())
    with caplog.at_level(logging.WARNING, logger="migrated.domain.tokens"):
        token = issue_token("admin")
        check_authorization_header(token)
    warnings = [r for r in caplog.records if "ML_API_SECRET_KEY" in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert tokens.secret_key() == "your-secret-key"


def test_cache_keys_are_the_text_of_the_decoded_list() -> None:
    """`[1, 2]` and `[1.0, 2.0]` are different keys; clear() forgets everything."""
    cache = PredictionCache()
    cache.set(cache.key([1, 2]), 3.0)
    assert cache.get(cache.key([1, 2])) == 3.0
    assert cache.get(cache.key([1.0, 2.0])) is None
    cache.clear()
    assert len(cache) == 0


def test_a_compared_call_reads_the_cache_but_never_fills_it() -> None:
    """Inside the gateway's sandbox (a shadow or A/A call) the prediction cache answers what it
    holds, and a prediction made there is not remembered for the served calls."""
    from migrated.domain.cache import PredictionCache
    from strangler.sandbox.context import Sandbox

    cache = PredictionCache()
    cache.set("[1]", 1.0)
    with Sandbox():
        assert cache.get("[1]") == 1.0
        cache.set("[2]", 2.0)
        assert cache.get("[2]") is None
    assert cache.get("[2]") is None
    cache.set("[2]", 2.0)
    assert cache.get("[2]") == 2.0


def test_fast_forest_path_is_bit_identical_to_sklearn() -> None:
    """The direct per-tree loop gives exactly sklearn's predictions, for 1 to 100 rows."""
    import numpy as np

    from migrated.domain.model import get_model
    from migrated.domain.predict import _forest_predict

    model = get_model()
    rng = np.random.default_rng(7)
    for n in (1, 2, 32, 100):
        rows = (rng.normal(size=(n, 10)) * 100).astype(np.float32)
        assert np.array_equal(_forest_predict(model, rows), model.predict(rows))


def test_migrated_batch_predict_matches_legacy_bit_for_bit() -> None:
    """predict_samples (migrated) equals predict_batch (legacy) for floats, ints and mixes."""
    import numpy as np

    from migrated.domain.predict import predict_batch, predict_samples

    rng = np.random.default_rng(11)
    floats = (rng.normal(size=(100, 10)) * 1e3).tolist()
    ints = rng.integers(-(2**40), 2**40, size=(50, 10)).tolist()
    mixed = [[*row[:5], *map(float, row[5:])] for row in ints]
    for samples in (floats, ints, mixed, floats[:1]):
        assert predict_samples(samples) == predict_batch(samples)


def test_micro_batches_take_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """predict_rows answers plain rows without calling sklearn's slow predict at all."""
    from migrated.domain import model as model_module
    from migrated.domain.predict import predict_rows

    forest = model_module.get_model()

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("sklearn's predict was called")

    monkeypatch.setattr(type(forest), "predict", refuse)
    assert all(isinstance(p, float) for p in predict_rows([[1.0] * 10, [2] * 10]))


def test_the_cache_is_bounded_and_keeps_the_recently_used() -> None:
    """Past its bound the cache forgets the least recently used entry, not a hot one (#11)."""
    from migrated.domain.cache import PredictionCache

    cache = PredictionCache(max_entries=3)
    for key in ("a", "b", "c"):
        cache.set(key, 1.0)
    assert cache.get("a") == 1.0  # now the most recently used
    cache.set("d", 2.0)
    assert len(cache) == 3
    assert (cache.get("b"), cache.get("a"), cache.get("d")) == (None, 1.0, 2.0)


def test_a_bad_cache_bound_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """ML_CACHE_MAX_ENTRIES must be a whole number of at least 1; the message says so."""
    from migrated.domain.cache import max_entries_from_env

    monkeypatch.setenv("ML_CACHE_MAX_ENTRIES", "lots")
    with pytest.raises(ValueError, match="whole number of at least 1"):
        max_entries_from_env()
    monkeypatch.setenv("ML_CACHE_MAX_ENTRIES", "5000")
    assert max_entries_from_env() == 5000
