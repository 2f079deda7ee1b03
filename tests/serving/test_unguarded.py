"""The warning for a server without the gateway's limits (strangler.serving.unguarded, #27)."""

from __future__ import annotations

import logging

import pytest

from strangler.routing.decision import Decision, Reason
from strangler.serving.protocol import GuardedProtocol
from strangler.serving.unguarded import LimitsCheck
from strangler.types import Backend

DONE = (Decision(Backend.LEGACY, Reason.DEFAULT, 1), Backend.LEGACY, Reason.DEFAULT, 200, 0.0)


def test_the_first_request_without_the_guarded_protocol_warns_once(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No connection came through GuardedProtocol: a warning, and the check takes itself out."""
    monkeypatch.setattr(GuardedProtocol, "serving", False)
    removed: list[LimitsCheck] = []
    check = LimitsCheck(removed.append)
    with caplog.at_level(logging.WARNING, logger="strangler.serving"):
        check.request_done("GET", *DONE, None)
    assert removed == [check]
    assert "connection limits" in caplog.text


def test_the_guarded_protocol_is_not_warned_about(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under GuardedProtocol the check says nothing, and still takes itself out."""
    monkeypatch.setattr(GuardedProtocol, "serving", True)
    removed: list[LimitsCheck] = []
    check = LimitsCheck(removed.append)
    with caplog.at_level(logging.WARNING, logger="strangler.serving"):
        check.request_done("GET", *DONE, None)
    assert removed == [check]
    assert caplog.text == ""
