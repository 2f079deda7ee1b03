"""Pins the legacy Flask app's /predict and /batch-predict, one test per error path and quirk."""

from __future__ import annotations

import json

import flask.testing
import pytest

from tests.example.legacy_answers import (
    BAD_REQUEST_TEXT,
    INFINITY_TEXT,
    JSON,
    ROW,
    ROW_PREDICTION,
    UNSUPPORTED_TEXT,
    assert_error,
    assert_json,
    post,
)

# --- /predict ----------------------------------------------------------------------------------


def test_predict_answers_with_model_version(legacy: flask.testing.FlaskClient, token: str) -> None:
    """A first prediction is not cached and carries model_version."""
    response = post(legacy, "/predict", json.dumps({"features": ROW}).encode(), token=token)
    expected = b'{"cached":false,"model_version":"1.0","prediction":' + ROW_PREDICTION + b"}\n"
    assert_json(response, 200, expected)


def test_cache_hit_has_no_model_version(legacy: flask.testing.FlaskClient, token: str) -> None:
    """A repeated row is answered from the cache, without model_version (quirk)."""
    body = json.dumps({"features": ROW}).encode()
    post(legacy, "/predict", body, token=token)
    response = post(legacy, "/predict", body, token=token)
    assert_json(response, 200, b'{"cached":true,"prediction":' + ROW_PREDICTION + b"}\n")


def test_cache_key_is_the_text_of_the_list(legacy: flask.testing.FlaskClient, token: str) -> None:
    """`[1, 2, ...]` and `[1.0, 2.0, ...]` are different cache entries (same prediction)."""
    post(legacy, "/predict", json.dumps({"features": ROW}).encode(), token=token)
    floats = json.dumps({"features": [float(x) for x in ROW]}).encode()
    response = post(legacy, "/predict", floats, token=token)
    expected = b'{"cached":false,"model_version":"1.0","prediction":' + ROW_PREDICTION + b"}\n"
    assert_json(response, 200, expected)


def test_extra_fields_are_ignored(legacy: flask.testing.FlaskClient, token: str) -> None:
    """Unknown fields next to `features` are ignored."""
    body = json.dumps({"features": ROW, "id": 7}).encode()
    assert post(legacy, "/predict", body, token=token).status_code == 200


@pytest.mark.parametrize("body", [b"{}", b"[]", b"0", b"null", b'""', b"false"])
def test_falsy_body_is_no_data(legacy: flask.testing.FlaskClient, token: str, body: bytes) -> None:
    """Any falsy JSON value is 400 No data provided (quirk: `{}` too)."""
    assert_error(post(legacy, "/predict", body, token=token), 400, "No data provided")


@pytest.mark.parametrize("body", [b'{"x":1}', b'"abc"', b'["x"]'])
def test_body_without_features_is_400(
    legacy: flask.testing.FlaskClient, token: str, body: bytes
) -> None:
    """An object, string or list without `features` is 400 Missing features field."""
    assert_error(post(legacy, "/predict", body, token=token), 400, "Missing features field")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'"features"', "string indices must be integers, not 'str'"),
        (b'"my features"', "string indices must be integers, not 'str'"),
        (b'["features"]', "list indices must be integers or slices, not str"),
        (b"5", "argument of type 'int' is not iterable"),
        (b"2.5", "argument of type 'float' is not iterable"),
        (b"true", "argument of type 'bool' is not iterable"),
    ],
)
def test_non_object_body_is_500_with_the_type_error(
    legacy: flask.testing.FlaskClient, token: str, body: bytes, message: str
) -> None:
    """A truthy non-object body fails in `in`/`[]` and the catch-all makes it a 500 (quirk)."""
    assert_error(post(legacy, "/predict", body, token=token), 500, message)


@pytest.mark.parametrize("features", ['"abc"', "5", '{"a":1}', "null", "true"])
def test_features_not_a_list_is_400(
    legacy: flask.testing.FlaskClient, token: str, features: str
) -> None:
    """A `features` value that is not a list is 400 Features must be a list."""
    body = b'{"features":' + features.encode() + b"}"
    assert_error(post(legacy, "/predict", body, token=token), 400, "Features must be a list")


@pytest.mark.parametrize("count", [0, 3, 9, 11])
def test_wrong_feature_count_is_400(
    legacy: flask.testing.FlaskClient, token: str, count: int
) -> None:
    """Any length other than 10 is 400 Expected 10 features."""
    body = json.dumps({"features": list(range(count))}).encode()
    assert_error(post(legacy, "/predict", body, token=token), 400, "Expected 10 features")


@pytest.mark.parametrize("body", [b"", b"{bad", b'{"features":[1,2,]}', b"\xff\xfe\x00"])
def test_malformed_json_is_500_with_werkzeugs_text(
    legacy: flask.testing.FlaskClient, token: str, body: bytes
) -> None:
    """A body that is not JSON is a 500 carrying the BadRequest's text (quirk: not a 400)."""
    assert_error(post(legacy, "/predict", body, token=token), 500, BAD_REQUEST_TEXT)


@pytest.mark.parametrize("content_type", [None, "text/plain", "text/json"])
def test_non_json_content_type_is_500_with_werkzeugs_text(
    legacy: flask.testing.FlaskClient, token: str, content_type: str | None
) -> None:
    """A non-JSON Content-Type is a 500 carrying the UnsupportedMediaType's text (quirk)."""
    body = json.dumps({"features": ROW}).encode()
    response = post(legacy, "/predict", body, token=token, content_type=content_type)
    assert_error(response, 500, UNSUPPORTED_TEXT)


@pytest.mark.parametrize("first", ["Infinity", "-Infinity", "1e400", "1e308", "3.5e38", "1e39"])
def test_values_beyond_float32_are_500(
    legacy: flask.testing.FlaskClient, token: str, first: str
) -> None:
    """Infinity, or a finite value too big for float32, fails in sklearn with a 500."""
    body = b'{"features":[' + first.encode() + b",2,3,4,5,6,7,8,9,10]}"
    assert_error(post(legacy, "/predict", body, token=token), 500, INFINITY_TEXT)


@pytest.mark.parametrize("missing", ["NaN", "null"])
def test_nan_and_null_are_missing_values(
    legacy: flask.testing.FlaskClient, token: str, missing: str
) -> None:
    """NaN (a literal Python's json accepts) and null are predicted as missing values (quirk)."""
    body = b'{"features":[' + missing.encode() + b",2,3,4,5,6,7,8,9,10]}"
    response = post(legacy, "/predict", body, token=token)
    expected = b'{"cached":false,"model_version":"1.0","prediction":164.75012463286723}\n'
    assert_json(response, 200, expected)


def test_numeric_strings_are_converted(legacy: flask.testing.FlaskClient, token: str) -> None:
    """Numeric strings are converted by numpy and predict like the numbers (quirk)."""
    body = json.dumps({"features": [str(x) for x in ROW]}).encode()
    response = post(legacy, "/predict", body, token=token)
    expected = b'{"cached":false,"model_version":"1.0","prediction":' + ROW_PREDICTION + b"}\n"
    assert_json(response, 200, expected)


def test_booleans_are_numbers(legacy: flask.testing.FlaskClient, token: str) -> None:
    """Booleans are taken as 1 and 0 (quirk)."""
    body = b'{"features":[true,false,3,4,5,6,7,8,9,10]}'
    response = post(legacy, "/predict", body, token=token)
    expected = b'{"cached":false,"model_version":"1.0","prediction":234.56773437405025}\n'
    assert_json(response, 200, expected)


@pytest.mark.parametrize(
    ("first", "message"),
    [
        ('"a"', "could not convert string to float: np.str_('a')"),
        ('"\u00e9"', "could not convert string to float: np.str_('\u00e9')"),
        ("{}", "float() argument must be a string or a real number, not 'dict'"),
        ("1" + "0" * 400, "int too large to convert to float"),
        (
            "[1]",
            "setting an array element with a sequence. The requested array has an inhomogeneous"
            " shape after 2 dimensions. The detected shape was (1, 10) + inhomogeneous part.",
        ),
    ],
)
def test_unusable_feature_values_are_500(
    legacy: flask.testing.FlaskClient, token: str, first: str, message: str
) -> None:
    """A value numpy or sklearn cannot use is a 500 with its message (ASCII-escaped JSON)."""
    body = ('{"features":[' + first + ",2,3,4,5,6,7,8,9,10]}").encode()
    assert_error(post(legacy, "/predict", body, token=token), 500, message)
    assert post(legacy, "/predict", body, token=token).data.isascii()


def test_all_nested_features_are_a_3d_array(legacy: flask.testing.FlaskClient, token: str) -> None:
    """Ten one-element lists make a 3-D array that sklearn rejects with a 500."""
    body = json.dumps({"features": [[x] for x in ROW]}).encode()
    message = "Found array with dim 3, while dim <= 2 is required by RandomForestRegressor."
    assert_error(post(legacy, "/predict", body, token=token), 500, message)


def test_failed_prediction_is_not_cached(legacy: flask.testing.FlaskClient, token: str) -> None:
    """A row that failed fails again: nothing was cached for it."""
    body = b'{"features":[Infinity,2,3,4,5,6,7,8,9,10]}'
    post(legacy, "/predict", body, token=token)
    assert_error(post(legacy, "/predict", body, token=token), 500, INFINITY_TEXT)


def test_duplicate_keys_keep_the_last(legacy: flask.testing.FlaskClient, token: str) -> None:
    """With duplicate `features` keys, the last one wins (Python's json)."""
    body = b'{"features":[1],"features":[1,2,3,4,5,6,7,8,9,10]}'
    assert post(legacy, "/predict", body, token=token).status_code == 200


# --- /batch-predict ----------------------------------------------------------------------------


def test_batch_predicts_in_order(legacy: flask.testing.FlaskClient, token: str) -> None:
    """Samples are predicted in order, with count and model_version, never cached."""
    body = b'{"samples":[[1,2,3,4,5,6,7,8,9,10],[NaN,2,3,4,5,6,7,8,9,10]]}'
    response = post(legacy, "/batch-predict", body, token=token)
    expected = (
        b'{"count":2,"model_version":"1.0","predictions":['
        + ROW_PREDICTION
        + b",164.75012463286723]}\n"
    )
    assert_json(response, 200, expected)


def test_batch_of_100_is_allowed(legacy: flask.testing.FlaskClient, token: str) -> None:
    """Exactly 100 samples are predicted."""
    body = json.dumps({"samples": [ROW] * 100}).encode()
    response = post(legacy, "/batch-predict", body, token=token)
    assert (response.status_code, response.get_json()["count"]) == (200, 100)


def test_batch_of_101_is_400_before_any_sample_check(
    legacy: flask.testing.FlaskClient, token: str
) -> None:
    """101 samples is 400 Maximum 100 samples allowed, even when the samples are bad too."""
    body = json.dumps({"samples": [1] * 101}).encode()
    assert_error(
        post(legacy, "/batch-predict", body, token=token), 400, "Maximum 100 samples allowed"
    )


def test_empty_batch_is_500(legacy: flask.testing.FlaskClient, token: str) -> None:
    """An empty samples list reaches sklearn and fails with its 1-D array message (quirk)."""
    response = post(legacy, "/batch-predict", b'{"samples":[]}', token=token)
    assert (response.status_code, response.content_type) == (500, JSON)
    assert response.get_json()["error"].startswith("Expected 2D array, got 1D array instead:")


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"{}", 400, "No data provided"),
        (b'{"x":1}', 400, "Missing samples field"),
        (b'{"samples":5}', 400, "Samples must be a list"),
        (b'{"samples":[[1,2,3,4,5,6,7,8,9,10],5]}', 400, "Sample 1 must be a list"),
        (b'{"samples":[[1,2,3,4,5,6,7,8,9,10],[1]]}', 400, "Sample 1 must have 10 features"),
        (b'{"samples":[[1],5]}', 400, "Sample 0 must have 10 features"),
        (b'"samples"', 500, "string indices must be integers, not 'str'"),
        (b"{", 500, BAD_REQUEST_TEXT),
        (
            b'{"samples":[["a",2,3,4,5,6,7,8,9,10]]}',
            500,
            "could not convert string to float: np.str_('a')",
        ),
        (b'{"samples":[[Infinity,2,3,4,5,6,7,8,9,10]]}', 500, INFINITY_TEXT),
    ],
)
def test_batch_errors(
    legacy: flask.testing.FlaskClient, token: str, body: bytes, status: int, message: str
) -> None:
    """Each bad batch body gets legacy's status and message, the first bad sample first."""
    assert_error(post(legacy, "/batch-predict", body, token=token), status, message)


def test_batch_with_text_content_type_is_500(legacy: flask.testing.FlaskClient, token: str) -> None:
    """A non-JSON Content-Type on /batch-predict is a 500 with werkzeug's 415 text (quirk)."""
    response = post(legacy, "/batch-predict", b"{}", token=token, content_type="text/plain")
    assert_error(response, 500, UNSUPPORTED_TEXT)
