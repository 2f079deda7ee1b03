"""Requests both apps must answer identically: data, not code, with ids taken from the names.

Header values may hold `{token}`, replaced by a valid token at run time. A case with `times=2`
sends the same request twice on one fresh cache (so the second answer is a cache hit).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Case:
    """One request (sent `times` times) whose answers must match byte for byte."""

    id: str
    path: str
    body: bytes | None = None
    method: str = "POST"
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1


JSON = {"Content-Type": "application/json"}
AUTH = {"Content-Type": "application/json", "Authorization": "Bearer {token}"}
ROW = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]


def _features(first: str) -> bytes:
    return ('{"features":[' + first + ",2,3,4,5,6,7,8,9,10]}").encode()


def _samples(*rows: object) -> bytes:
    return json.dumps({"samples": list(rows)}).encode()


CASES = [
    # Service metadata and Flask's own pages.
    Case("model-info", "/model-info", method="GET"),
    Case("model-info-head", "/model-info", method="HEAD"),
    Case("health-head", "/health", method="HEAD"),
    Case("health-post-405", "/health"),
    Case("predict-get-405", "/predict", method="GET"),
    Case("predict-head-405", "/predict", method="HEAD"),
    Case("login-put-405", "/login", method="PUT"),
    Case("unknown-path-404", "/nope", method="GET"),
    Case("trailing-slash-404", "/health/", method="GET"),
    Case("options-health", "/health", method="OPTIONS"),
    Case("options-predict", "/predict", method="OPTIONS"),
    # /login.
    Case("login-wrong-password", "/login", b'{"username":"admin","password":"x"}', headers=JSON),
    Case("login-wrong-user", "/login", b'{"username":"root","password":"password"}', headers=JSON),
    Case("login-non-string", "/login", b'{"username":1,"password":[]}', headers=JSON),
    Case("login-empty-object", "/login", b"{}", headers=JSON),
    Case("login-no-password", "/login", b'{"username":"admin"}', headers=JSON),
    Case("login-empty-list", "/login", b"[]", headers=JSON),
    Case("login-zero", "/login", b"0", headers=JSON),
    Case("login-null", "/login", b"null", headers=JSON),
    Case("login-empty-string", "/login", b'""', headers=JSON),
    Case("login-string-lacking-names", "/login", b'"user"', headers=JSON),
    Case("login-string-with-names-500", "/login", b'"usernamepassword"', headers=JSON),
    Case("login-list-with-names-500", "/login", b'["username","password"]', headers=JSON),
    Case("login-int-500", "/login", b"5", headers=JSON),
    Case("login-true-500", "/login", b"true", headers=JSON),
    Case("login-malformed-400", "/login", b"{bad", headers=JSON),
    Case("login-empty-body-400", "/login", b"", headers=JSON),
    Case("login-no-content-type-415", "/login", b'{"username":"admin","password":"password"}'),
    Case(
        "login-text-plain-415",
        "/login",
        b'{"username":"admin","password":"password"}',
        headers={"Content-Type": "text/plain"},
    ),
    # Auth on the predict routes.
    Case("predict-no-token", "/predict", b"{}", headers=JSON),
    Case("batch-no-token", "/batch-predict", b"{}", headers=JSON),
    Case("predict-empty-authorization", "/predict", b"{}", headers={**JSON, "Authorization": ""}),
    Case("predict-garbage-token", "/predict", b"{}", headers={**JSON, "Authorization": "Bearer x"}),
    Case("predict-bearer-only", "/predict", b"{}", headers={**JSON, "Authorization": "Bearer "}),
    Case("predict-basic-auth", "/predict", b"{}", headers={**JSON, "Authorization": "Basic YQ=="}),
    Case("predict-bare-token", "/predict", b"{}", headers={**JSON, "Authorization": "{token}"}),
    Case(
        "predict-double-bearer",
        "/predict",
        b"{}",
        headers={**JSON, "Authorization": "Bearer Bearer {token}"},
    ),
    Case(
        "predict-lowercase-bearer",
        "/predict",
        b"{}",
        headers={**JSON, "Authorization": "bearer {token}"},
    ),
    Case("auth-before-malformed-body", "/predict", b"{bad", headers=JSON),
    # /predict bodies.
    Case("predict-ok", "/predict", json.dumps({"features": ROW}).encode(), headers=AUTH),
    Case(
        "predict-cache-hit",
        "/predict",
        json.dumps({"features": ROW}).encode(),
        headers=AUTH,
        times=2,
    ),
    Case("predict-floats", "/predict", _features("1.0"), headers=AUTH),
    Case("predict-negative", "/predict", _features("-1e10"), headers=AUTH),
    Case("predict-tiny", "/predict", _features("1e-50"), headers=AUTH),
    Case(
        "predict-extra-field",
        "/predict",
        b'{"features":[1,2,3,4,5,6,7,8,9,10],"x":1}',
        headers=AUTH,
    ),
    Case(
        "predict-duplicate-key",
        "/predict",
        b'{"features":[1],"features":[1,2,3,4,5,6,7,8,9,10]}',
        headers=AUTH,
    ),
    Case(
        "predict-charset",
        "/predict",
        _features("1"),
        headers={**AUTH, "Content-Type": "application/json; charset=utf-8"},
    ),
    Case(
        "predict-upper-ct",
        "/predict",
        _features("1"),
        headers={**AUTH, "Content-Type": "APPLICATION/JSON"},
    ),
    Case(
        "predict-plus-json",
        "/predict",
        _features("1"),
        headers={**AUTH, "Content-Type": "application/ld+json"},
    ),
    Case("predict-utf16", "/predict", json.dumps({"features": ROW}).encode("utf-16"), headers=AUTH),
    Case("predict-utf8-bom", "/predict", b"\xef\xbb\xbf" + _features("1"), headers=AUTH),
    Case("predict-empty-object", "/predict", b"{}", headers=AUTH),
    Case("predict-empty-list", "/predict", b"[]", headers=AUTH),
    Case("predict-zero", "/predict", b"0", headers=AUTH),
    Case("predict-null", "/predict", b"null", headers=AUTH),
    Case("predict-false", "/predict", b"false", headers=AUTH),
    Case("predict-empty-string", "/predict", b'""', headers=AUTH),
    Case("predict-string-features-500", "/predict", b'"features"', headers=AUTH),
    Case("predict-string-other", "/predict", b'"abc"', headers=AUTH),
    Case("predict-list-features-500", "/predict", b'["features"]', headers=AUTH),
    Case("predict-list-other", "/predict", b'["x"]', headers=AUTH),
    Case("predict-int-500", "/predict", b"5", headers=AUTH),
    Case("predict-float-500", "/predict", b"2.5", headers=AUTH),
    Case("predict-true-500", "/predict", b"true", headers=AUTH),
    Case("predict-missing-features", "/predict", b'{"x":1}', headers=AUTH),
    Case("predict-features-string", "/predict", b'{"features":"abc"}', headers=AUTH),
    Case("predict-features-object", "/predict", b'{"features":{"a":1}}', headers=AUTH),
    Case("predict-features-null", "/predict", b'{"features":null}', headers=AUTH),
    Case("predict-features-number", "/predict", b'{"features":5}', headers=AUTH),
    Case("predict-3-features", "/predict", b'{"features":[1,2,3]}', headers=AUTH),
    Case("predict-0-features", "/predict", b'{"features":[]}', headers=AUTH),
    Case(
        "predict-11-features",
        "/predict",
        json.dumps({"features": [*ROW, 11]}).encode(),
        headers=AUTH,
    ),
    Case("predict-malformed", "/predict", b"{bad", headers=AUTH),
    Case("predict-trailing-comma", "/predict", b'{"features":[1,2,]}', headers=AUTH),
    Case("predict-empty-body", "/predict", b"", headers=AUTH),
    Case("predict-invalid-utf8", "/predict", b"\xff\xfe\x00", headers=AUTH),
    Case(
        "predict-no-content-type",
        "/predict",
        _features("1"),
        headers={"Authorization": "Bearer {token}"},
    ),
    Case(
        "predict-text-plain",
        "/predict",
        _features("1"),
        headers={**AUTH, "Content-Type": "text/plain"},
    ),
    Case(
        "predict-text-json",
        "/predict",
        _features("1"),
        headers={**AUTH, "Content-Type": "text/json"},
    ),
    Case("predict-nan", "/predict", _features("NaN"), headers=AUTH),
    Case("predict-nan-cache-hit", "/predict", _features("NaN"), headers=AUTH, times=2),
    Case("predict-null-feature", "/predict", _features("null"), headers=AUTH),
    Case("predict-infinity", "/predict", _features("Infinity"), headers=AUTH),
    Case("predict-minus-infinity", "/predict", _features("-Infinity"), headers=AUTH),
    Case("predict-1e400", "/predict", _features("1e400"), headers=AUTH),
    Case("predict-1e308", "/predict", _features("1e308"), headers=AUTH),
    Case("predict-1e39", "/predict", _features("1e39"), headers=AUTH),
    Case("predict-int-1e38", "/predict", _features("1" + "0" * 38), headers=AUTH),
    Case("predict-int-1e20", "/predict", _features("1" + "0" * 20), headers=AUTH),
    Case("predict-int-1e400", "/predict", _features("1" + "0" * 400), headers=AUTH),
    Case("predict-int64-max", "/predict", _features(str(2**63 - 1)), headers=AUTH),
    Case("predict-string-value", "/predict", _features('"a"'), headers=AUTH),
    Case("predict-numeric-string", "/predict", _features('"1"'), headers=AUTH),
    Case("predict-non-ascii-string", "/predict", _features('"\\u00e9"'), headers=AUTH),
    Case("predict-nested-one", "/predict", _features("[1]"), headers=AUTH),
    Case(
        "predict-nested-all",
        "/predict",
        json.dumps({"features": [[x] for x in ROW]}).encode(),
        headers=AUTH,
    ),
    Case("predict-object-value", "/predict", _features("{}"), headers=AUTH),
    Case("predict-booleans", "/predict", _features("true,false"), headers=AUTH),
    Case(
        "predict-all-booleans",
        "/predict",
        json.dumps({"features": [True] * 10}).encode(),
        headers=AUTH,
    ),
    Case(
        "predict-all-null", "/predict", json.dumps({"features": [None] * 10}).encode(), headers=AUTH
    ),
    # /batch-predict bodies.
    Case("batch-ok", "/batch-predict", _samples(ROW, [x * 2 for x in ROW]), headers=AUTH),
    Case("batch-100", "/batch-predict", _samples(*[ROW] * 100), headers=AUTH),
    Case("batch-101", "/batch-predict", _samples(*[ROW] * 101), headers=AUTH),
    Case(
        "batch-101-bad-samples",
        "/batch-predict",
        json.dumps({"samples": [1] * 101}).encode(),
        headers=AUTH,
    ),
    Case("batch-empty-list", "/batch-predict", b'{"samples":[]}', headers=AUTH),
    Case("batch-not-list", "/batch-predict", b'{"samples":5}', headers=AUTH),
    Case("batch-sample-not-list", "/batch-predict", _samples(ROW, 5), headers=AUTH),
    Case("batch-sample-short", "/batch-predict", _samples(ROW, [1]), headers=AUTH),
    Case("batch-first-bad-wins", "/batch-predict", _samples([1], 5), headers=AUTH),
    Case("batch-late-bad", "/batch-predict", _samples(*[ROW] * 50, [1, 2]), headers=AUTH),
    Case("batch-nan", "/batch-predict", b'{"samples":[[NaN,2,3,4,5,6,7,8,9,10]]}', headers=AUTH),
    Case(
        "batch-infinity",
        "/batch-predict",
        b'{"samples":[[Infinity,2,3,4,5,6,7,8,9,10]]}',
        headers=AUTH,
    ),
    Case("batch-strings", "/batch-predict", _samples(["a", *ROW[1:]]), headers=AUTH),
    Case("batch-nested", "/batch-predict", _samples([[1], *ROW[1:]]), headers=AUTH),
    Case(
        "batch-mixed-types",
        "/batch-predict",
        _samples(ROW, [float(x) for x in ROW], [True] * 10),
        headers=AUTH,
    ),
    Case("batch-empty-object", "/batch-predict", b"{}", headers=AUTH),
    Case("batch-missing-samples", "/batch-predict", b'{"features":[]}', headers=AUTH),
    Case("batch-string-samples-500", "/batch-predict", b'"samples"', headers=AUTH),
    Case("batch-int-500", "/batch-predict", b"7", headers=AUTH),
    Case("batch-malformed", "/batch-predict", b"{", headers=AUTH),
    Case(
        "batch-text-plain", "/batch-predict", b"{}", headers={**AUTH, "Content-Type": "text/plain"}
    ),
    Case(
        "batch-bare-token",
        "/batch-predict",
        _samples(ROW),
        headers={**JSON, "Authorization": "{token}"},
    ),
]
