"""Pins the legacy Flask app's service, login and auth behaviour, one test per path and quirk."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import flask.testing
import jwt
import pytest

from migrated.domain import check_authorization_header, issue_token
from tests.example.conftest import TEST_SECRET
from tests.example.legacy_answers import (
    JSON,
    assert_error,
    assert_json,
    assert_page,
    post,
)

# --- /health and /model-info -------------------------------------------------------------------


def test_health_says_healthy_with_a_naive_utc_timestamp(legacy: flask.testing.FlaskClient) -> None:
    """GET /health answers status healthy and an ISO timestamp without offset, close to now."""
    response = legacy.get("/health")
    assert (response.status_code, response.content_type) == (200, JSON)
    assert re.fullmatch(
        rb'\{"status":"healthy","timestamp":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?"\}\n',
        response.data,
    )
    stamp = datetime.fromisoformat(response.get_json()["timestamp"]).replace(tzinfo=UTC)
    assert abs(datetime.now(UTC) - stamp) < timedelta(seconds=5)


def test_model_info_is_fixed(legacy: flask.testing.FlaskClient) -> None:
    """GET /model-info answers the fixed description with sorted keys and a trailing newline."""
    assert_json(
        legacy.get("/model-info"),
        200,
        b'{"input_features":10,"model_type":"random_forest",'
        b'"training_date":"2024-01-15","version":"1.0"}\n',
    )


def test_wrong_method_is_flasks_html_405(legacy: flask.testing.FlaskClient) -> None:
    """POST /health gets Flask's own HTML 405 page."""
    assert_page(legacy.post("/health"), 405, "405 Method Not Allowed")


def test_unknown_path_is_flasks_html_404(legacy: flask.testing.FlaskClient) -> None:
    """An unknown path gets Flask's own HTML 404 page."""
    assert_page(legacy.get("/nope"), 404, "404 Not Found")


# --- /login ------------------------------------------------------------------------------------


def test_login_issues_a_24_hour_token(legacy: flask.testing.FlaskClient) -> None:
    """The demo credentials get an HS256 token for user admin that expires in 24 hours."""
    response = post(legacy, "/login", b'{"username":"admin","password":"password"}')
    assert (response.status_code, response.content_type) == (200, JSON)
    token = response.get_json()["token"]
    assert response.data == b'{"token":"' + token.encode() + b'"}\n'
    claims = jwt.decode(token, TEST_SECRET, algorithms=["HS256"])
    assert set(claims) == {"user", "exp"}
    assert claims["user"] == "admin"
    expires = datetime.fromtimestamp(claims["exp"], UTC)
    assert abs(expires - datetime.now(UTC) - timedelta(hours=24)) < timedelta(seconds=5)


def test_login_with_wrong_password_is_401(legacy: flask.testing.FlaskClient) -> None:
    """A wrong password is 401 Invalid credentials."""
    response = post(legacy, "/login", b'{"username":"admin","password":"nope"}')
    assert_error(response, 401, "Invalid credentials")


def test_login_with_non_string_credentials_is_401(legacy: flask.testing.FlaskClient) -> None:
    """Credentials of the wrong type simply do not match: 401, not a validation error."""
    response = post(legacy, "/login", b'{"username":1,"password":["password"]}')
    assert_error(response, 401, "Invalid credentials")


@pytest.mark.parametrize(
    "body",
    [b"{}", b'{"username":"admin"}', b'{"password":"password"}', b"[]", b"0", b"null", b'""'],
)
def test_login_without_both_fields_is_400(legacy: flask.testing.FlaskClient, body: bytes) -> None:
    """A body lacking either field, or any falsy JSON value, is 400 Missing credentials."""
    assert_error(post(legacy, "/login", body), 400, "Missing credentials")


def test_login_with_a_string_lacking_the_names_is_400(legacy: flask.testing.FlaskClient) -> None:
    """A JSON string is searched as a substring: without both names it is Missing credentials."""
    assert_error(post(legacy, "/login", b'"user"'), 400, "Missing credentials")


@pytest.mark.parametrize(
    "body", [b'"username password"', b'["username","password"]', b"5", b"true", b"1.5"]
)
def test_login_with_a_non_object_body_is_flasks_html_500(
    legacy: flask.testing.FlaskClient, body: bytes
) -> None:
    """A truthy non-object body reaching `in`/`[]` raises, and /login has no try: HTML 500."""
    assert_page(post(legacy, "/login", body), 500, "500 Internal Server Error")


@pytest.mark.parametrize("body", [b"", b"{bad", b'{"username":"admin",}'])
def test_login_with_malformed_json_is_flasks_html_400(
    legacy: flask.testing.FlaskClient, body: bytes
) -> None:
    """A body that is not JSON gets Flask's HTML 400 page, not a JSON error."""
    assert_page(post(legacy, "/login", body), 400, "400 Bad Request")


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_login_without_json_content_type_is_flasks_html_415(
    legacy: flask.testing.FlaskClient, content_type: str | None
) -> None:
    """A non-JSON Content-Type gets Flask's HTML 415 page, even when the body is valid JSON."""
    body = b'{"username":"admin","password":"password"}'
    response = post(legacy, "/login", body, content_type=content_type)
    assert_page(response, 415, "415 Unsupported Media Type")
    assert b"&#39;application/json&#39;" in response.data


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "Application/JSON", "application/x+json"]
)
def test_login_accepts_any_json_media_type(
    legacy: flask.testing.FlaskClient, content_type: str
) -> None:
    """Parameters and case are ignored, and `application/*+json` counts as JSON."""
    body = b'{"username":"admin","password":"password"}'
    assert post(legacy, "/login", body, content_type=content_type).status_code == 200


# --- auth on /predict and /batch-predict --------------------------------------------------------


@pytest.mark.parametrize("path", ["/predict", "/batch-predict"])
def test_missing_token_is_401(legacy: flask.testing.FlaskClient, path: str) -> None:
    """No Authorization header is 401 Token is missing."""
    assert_error(post(legacy, path, b"{}"), 401, "Token is missing")


def test_empty_authorization_header_counts_as_missing(legacy: flask.testing.FlaskClient) -> None:
    """An empty Authorization header is 401 Token is missing."""
    assert_error(post(legacy, "/predict", b"{}", authorization=""), 401, "Token is missing")


@pytest.mark.parametrize(
    "authorization", ["Bearer nonsense", "Bearer ", "Basic YWRtaW46cGFzc3dvcmQ=", "Token abc"]
)
def test_invalid_token_is_401(legacy: flask.testing.FlaskClient, authorization: str) -> None:
    """A header that does not decode to a valid token is 401 Token is invalid."""
    response = post(legacy, "/predict", b"{}", authorization=authorization)
    assert_error(response, 401, "Token is invalid")


def test_expired_token_is_invalid(legacy: flask.testing.FlaskClient) -> None:
    """A token past its expiry is 401 Token is invalid."""
    expired = issue_token("admin", now=datetime.now(UTC) - timedelta(days=2))
    assert_error(post(legacy, "/predict", b"{}", token=expired), 401, "Token is invalid")


def test_token_signed_with_another_secret_is_invalid(legacy: flask.testing.FlaskClient) -> None:
    """A token signed with a different secret is 401 Token is invalid."""
    forged = jwt.encode({"user": "admin"}, "another-secret-of-at-least-32-bytes!!", "HS256")
    assert_error(post(legacy, "/predict", b"{}", token=forged), 401, "Token is invalid")


def test_auth_is_checked_before_the_body(legacy: flask.testing.FlaskClient) -> None:
    """A malformed body without a token is still 401, not a body error."""
    assert_error(post(legacy, "/predict", b"{bad"), 401, "Token is missing")


def test_token_without_bearer_prefix_is_accepted(
    legacy: flask.testing.FlaskClient, token: str
) -> None:
    """A bare token, without "Bearer ", is accepted (quirk)."""
    response = post(legacy, "/predict", b"{}", authorization=token)
    assert_error(response, 400, "No data provided")


def test_every_bearer_occurrence_is_removed(legacy: flask.testing.FlaskClient, token: str) -> None:
    """All "Bearer " substrings are stripped, wherever they are (quirk)."""
    assert check_authorization_header(f"Bearer Bearer {token}")["user"] == "admin"
    response = post(legacy, "/predict", b"{}", authorization=f"Bearer Bearer {token}")
    assert_error(response, 400, "No data provided")


def test_token_without_expiry_is_accepted(legacy: flask.testing.FlaskClient) -> None:
    """A correctly signed token with no `exp` claim is accepted (PyJWT does not require it)."""
    forever = jwt.encode({"user": "anyone"}, TEST_SECRET, "HS256")
    assert_error(post(legacy, "/predict", b"{}", token=forever), 400, "No data provided")
