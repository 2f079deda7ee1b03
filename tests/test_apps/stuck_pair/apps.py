"""A pair with one endpoint that answers only when a test releases it: for time budgets.

`GET /stuck` waits on `release` (an Event the test sets when it is done, at most `LIMIT`
seconds), so a run that must end on time has to leave it; `GET /quick` answers at once.
"""

from __future__ import annotations

import asyncio
import threading
import time

from fastapi import FastAPI
from flask import Flask, jsonify

LIMIT = 30.0  # a test that forgets to release still ends
release = threading.Event()
entered = threading.Event()  # set when a call to /stuck began waiting

legacy = Flask(__name__)


@legacy.get("/quick")
def legacy_quick() -> object:
    return jsonify(ok=True)


@legacy.get("/stuck")
def legacy_stuck() -> object:
    entered.set()
    release.wait(LIMIT)
    return jsonify(ok=True)


migrated = FastAPI()


@migrated.get("/quick")
async def migrated_quick() -> dict[str, bool]:
    return {"ok": True}


@migrated.get("/stuck")
async def migrated_stuck() -> dict[str, bool]:
    entered.set()
    ends = time.monotonic() + LIMIT
    # `release` is a threading.Event (the test's thread sets it), so it is polled; a cancel
    # (the run's budget) ends the wait at the next turn.
    while not release.is_set() and time.monotonic() < ends:  # noqa: ASYNC110
        await asyncio.sleep(0.02)
    return {"ok": True}
