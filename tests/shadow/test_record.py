"""What shadowing found per endpoint (strangler.shadow.record): noise learned, and taken back."""

from __future__ import annotations

from strangler.comparison.compare import Answer, Difference
from strangler.shadow.record import MAX_NOISE, EndpointRecord, Mismatch
from strangler.shadow.redact import Redactor, SeenRequest


def varying(record: EndpointRecord, *wheres: str) -> None:
    """Two A/A calibrations in which each place differs, each time in another way."""
    for round in (1, 2):
        record.learn_noise([Difference(w, round, round + 10) for w in wheres])


def test_noise_is_learned_for_any_list_index_and_never_for_the_status() -> None:
    """A place that varies between calibrations is noise, for any list index; the status and
    a whole body never are."""
    record = EndpointRecord()
    varying(record, "$.items[0].id", "$.items[2].id", "status", "body", "$")
    assert record.noise == {"$.items[*].id"}
    assert record.is_noise(Difference("$.items[49].id", 1, 2))
    assert not record.is_noise(Difference("status", 200, 503))


def test_learning_noise_takes_back_only_the_mismatches_that_were_only_noise() -> None:
    record = EndpointRecord(compared=2, mismatched=2)
    request = SeenRequest("GET", "/x", "", (), b"")
    answer = Answer(200, (), b"{}")
    for wheres in (["$.at"], ["$.at", "$.price"]):
        diffs = [Difference(w, 1, 2) for w in wheres]
        record.mismatches.append(Mismatch("t", request, answer, answer, diffs, "legacy"))
    varying(record, "$.at")
    assert (record.mismatched, record.matched) == (1, 1)
    assert [d.where for d in record.mismatches[0].differences] == ["$.price"]


def test_a_report_shows_each_mismatch_made_once_and_gives_copies() -> None:
    """A mismatch is shown with its secrets out once for its differences (reports are made every
    few seconds), and what a reader adds to one report is not in the next (#22)."""
    record = EndpointRecord(compared=1, mismatched=1)
    request = SeenRequest("GET", "/x", "pass=qp-1111", (), b"")
    answer = Answer(200, (), b'{"at": 1, "price": 2}')
    diffs = [Difference("$.at", 1, 2), Difference("$.price", 2, 3)]
    record.mismatches.append(Mismatch("t", request, answer, answer, diffs, "legacy"))
    redactor = Redactor()
    first = record.report(redactor, "GET /x")["last_mismatches"][0]
    first["case_yaml"] = "added by a reader"
    second = record.report(redactor, "GET /x")["last_mismatches"][0]
    assert "case_yaml" not in second
    assert second["request"] is first["request"]  # made once
    assert "qp-1111" not in repr(second)
    varying(record, "$.at")
    third = record.report(redactor, "GET /x")["last_mismatches"][0]
    assert [d["where"] for d in third["differences"]] == ["$.price"]
    assert third["case"]["description"] == "differs at $.price"


def test_a_place_that_always_differs_the_same_way_is_systematic_not_noise() -> None:
    """`cached` false on the first call and true on the second, every time: state, not noise;
    it is reported as systematic and stays compared (#23)."""
    record = EndpointRecord()
    for _ in range(5):
        record.learn_noise([Difference("$.cached", False, True), Difference("$.at", 1, 2)])
    assert record.noise == set()
    assert record.report(Redactor(), "GET /x")["systematic"] == {"$.cached": 5, "$.at": 5}
    record.learn_noise([Difference("$.at", 3, 4)])  # a timestamp: it varies
    assert record.noise == {"$.at"}
    assert record.report(Redactor(), "GET /x")["systematic"] == {"$.cached": 5}


def test_a_never_noise_place_is_never_learned() -> None:
    """A place listed in `shadow_never_noise` is compared always, however it varies."""
    record = EndpointRecord()
    for round in (1, 2, 3):
        record.learn_noise(
            [Difference("$.model_version", round, 0)], frozenset({"$.model_version"})
        )
    assert record.noise == set()
    assert record.systematic == {"$.model_version": 3}


def test_noise_adopted_from_before_a_restart_takes_back_mismatches_and_is_bounded() -> None:
    """Places kept as noise (strangler.shadow.findings) are taken as learned at once: a
    mismatch only there is taken back, at most MAX_NOISE places (#23)."""
    record = EndpointRecord(compared=1, mismatched=1)
    request = SeenRequest("GET", "/x", "", (), b"")
    answer = Answer(200, (), b"{}")
    record.mismatches.append(Mismatch("t", request, answer, answer, [Difference("$.at", 1, 2)], ""))
    record.adopt_noise([f"$.n{i}" for i in range(MAX_NOISE + 5)] + ["$.at"])
    assert "$.at" in record.noise
    assert len(record.noise) == MAX_NOISE
    assert (record.mismatched, record.matched, list(record.mismatches)) == (0, 1, [])
