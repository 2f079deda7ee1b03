"""Secrets kept out of what shadowing keeps (strangler.shadow.redact): every part of an
exchange, and each secret again wherever the exchange repeats it (#22)."""

from __future__ import annotations

import json

from strangler.comparison.compare import Answer
from strangler.shadow.redact import REDACTED, Redactor, SeenRequest

PLANTED = {
    "auth": "Bearer plant-authorization-1",
    "x-auth-token": "plant-x-auth-token-2",
    "api-key": "plant-api-key-3",
    "cookie": "plant-cookie-4",
    "pass": "plant-query-pass-5",
    "sessionid": "plant-query-session-6",
    "nested": "plant-nested-password-7",
    "capital": "plant-capital-password-8",
    "form": "plant-form-password-9",
    "set-cookie": "plant-set-cookie-10",
    "answer-token": "plant-answer-token-11",
}


def secrets_in(text: str) -> list[str]:
    return [value for value in PLANTED.values() if value.split()[-1] in text]


def exchange_shown(redactor: Redactor) -> str:
    """Every view of one exchange with secrets everywhere, as one text."""
    p = PLANTED
    request = SeenRequest(
        "POST",
        "/login",
        f"page=2&pass={p['pass']}&SessionId={p['sessionid']}",
        (
            ("Authorization", p["auth"]),
            ("X-Auth-Token", p["x-auth-token"]),
            ("Api-Key", p["api-key"]),
            ("Cookie", f"theme=dark; sessionid={p['cookie']}"),
            ("content-type", "application/json"),
        ),
        json.dumps(
            {"user": {"name": "ann", "password": p["nested"]}, "Password": p["capital"]}
        ).encode(),
    )
    echoed = json.dumps({"you_sent": p["x-auth-token"], "cookie_was": p["cookie"], "ok": 1})
    legacy = Answer(
        200,
        (("Set-Cookie", f"sid={p['set-cookie']}; Path=/"), ("X-Echo", p["api-key"])),
        echoed.encode(),
    )
    migrated = Answer(200, (), json.dumps({"ok": 2, "access_token": p["answer-token"]}).encode())
    exchange = redactor.exchange(request, legacy, migrated)
    shown = [
        exchange.request(request),
        exchange.answer(legacy),
        exchange.answer(migrated),
        exchange.case("c", request, "differs"),
        exchange.difference("$.you_sent", p["x-auth-token"]),
        exchange.difference("$.user", {"password": p["nested"]}),
        exchange.difference("header:x-echo", p["api-key"]),
        exchange.difference("$.ok", 1),
    ]
    form = SeenRequest(
        "POST",
        "/f",
        "",
        (("Content-Type", "application/x-www-form-urlencoded"),),
        f"user=ann&password={p['form']}".encode(),
    )
    form_exchange = redactor.exchange(form)
    shown += [form_exchange.request(form), form_exchange.case("f", form)]
    return repr(shown)


def test_no_planted_secret_is_shown_by_any_part_of_an_exchange() -> None:
    """Secrets in headers, cookies, queries, nested and capitalised JSON keys, forms and the
    answers, echoed or not, appear nowhere; what is not secret still does."""
    shown = exchange_shown(Redactor())
    assert secrets_in(shown) == []
    assert REDACTED in shown
    assert "Bearer ${token}" in shown
    for shown_as_sent in ("page=2", "'ann'", "user=ann"):
        assert shown_as_sent in shown


def test_an_old_setting_of_json_paths_still_hides_the_named_secrets() -> None:
    """`shadow_redact = ["$.token"]` (the setting's old form) keeps the default names."""
    assert secrets_in(exchange_shown(Redactor(["$.token"]))) == []


def test_whole_body_differences_and_secret_places_are_replaced() -> None:
    """A whole body, a secret header or a JSON path of the policy is replaced whole in a
    difference; an ordinary value is shown."""
    request = SeenRequest("GET", "/x", "", (), b"")
    exchange = Redactor(["*token*", "$.card.number"]).exchange(request)
    assert exchange.difference("body", b"token=abc") == REDACTED
    assert exchange.difference("$", {"token": "abc"}) == REDACTED
    assert exchange.difference("$.card.number", "4111") == REDACTED
    assert exchange.difference("$.card", {"number": "4111", "exp": "12/30"}) == repr(
        {"number": REDACTED, "exp": "12/30"}
    )
    assert exchange.difference("$.name", "ann") == "'ann'"


def test_a_query_with_no_secret_is_kept_as_written() -> None:
    """A query string without secrets is shown as the client spelt it."""
    request = SeenRequest("GET", "/x", "q=a%20b&page=2", (), b"")
    assert Redactor().exchange(request).request(request)["query"] == "q=a%20b&page=2"


def test_a_case_leaves_out_the_request_id_the_gateway_made() -> None:
    """A corpus case does not carry `X-Request-ID` (made per request by the gateway: replayed,
    it would only repeat an old request's id); the request's other headers stay (#23)."""
    request = SeenRequest(
        "GET",
        "/x",
        "",
        (("X-Request-ID", "5b0f8c1e2d3a4b6c"), ("Accept", "application/json")),
        b"",
    )
    case = Redactor().exchange(request).case("c", request)
    assert case["headers"] == {"accept": "application/json"}


def test_a_case_leaves_out_the_headers_the_gateway_adds_by_their_configured_names() -> None:
    """A corpus case does not carry the request id under the configured `request_id_header`
    nor the trace context (`traceparent`, `tracestate`) the gateway passes to the apps (#24)."""
    request = SeenRequest(
        "GET",
        "/x",
        "",
        (
            ("X-Correlation-ID", "5b0f8c1e2d3a4b6c-1"),
            ("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
            ("tracestate", "vendor=1"),
            ("Accept", "application/json"),
        ),
        b"",
    )
    redactor = Redactor(gateway_headers=["X-Correlation-ID"])
    case = redactor.exchange(request).case("c", request)
    assert case["headers"] == {"accept": "application/json"}
