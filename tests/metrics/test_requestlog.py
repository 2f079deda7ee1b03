"""The request log, one JSON line per request (strangler.metrics.requestlog), in process."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.observed import client_for, set_flag


async def test_the_request_log_has_one_json_line_per_request(tmp_path: Path) -> None:
    log = tmp_path / "requests.log"
    async for gateway, client in client_for(request_log=str(log), sticky="header:x-user"):
        await set_flag(client, "GET /ok", "canary", 50)
        answers = [await client.get("/ok", headers={"x-user": f"u{i}"}) for i in range(20)]
        await client.get("/nowhere")
        assert gateway.runtime.request_log is not None
        gateway.runtime.request_log.flush()
        lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(lines) == 21
    for line, answer in zip(lines, answers, strict=False):
        assert line["request_id"] == answer.headers["x-request-id"]
        assert line["endpoint"] == "GET /ok"
        assert line["method"] == "GET"
        assert line["backend"] == answer.headers["x-strangler-backend"]
        assert line["reason"] == "split"
        assert 0 <= line["bucket"] < 10_000
        assert line["status"] == 200
        assert line["ms"] > 0
        assert line["flags"] == 1
    assert {line["backend"] for line in lines[:20]} == {"legacy", "migrated"}
    assert lines[20]["endpoint"] is None
    assert lines[20]["status"] == 404
