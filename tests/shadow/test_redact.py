"""Secrets kept out of what shadowing keeps (strangler.shadow.redact)."""

from __future__ import annotations

from strangler.shadow.redact import REDACTED, Redactor, SeenRequest


def test_secrets_are_redacted_in_queries_forms_and_whole_body_differences() -> None:
    redactor = Redactor()
    form = (("content-type", "application/x-www-form-urlencoded"),)
    request = SeenRequest("POST", "/login", "token=abc&page=2", form, b"user=a&password=hunter2")
    shown = repr(redactor.request(request)) + repr(redactor.case("c", request))
    assert "abc" not in shown
    assert "hunter2" not in shown
    assert "page=2" in shown
    assert redactor.difference("body", b"token=abc") == REDACTED
    assert redactor.difference("$", {"token": "abc"}) == REDACTED
