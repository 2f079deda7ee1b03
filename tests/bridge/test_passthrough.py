"""Fidelity in process: a client cannot tell the passthrough Flask app served alone (Flask's test
client) from it served through the bridge, or through the gateway with no flags set (every
endpoint on legacy), both by httpx.ASGITransport, which buffers responses (so no streaming here;
tests/e2e/test_passthrough.py has it over real servers). Requests are data
(tests/support/passthrough.py); each is built once as bytes and sent alike to both sides.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from strangler.types import ASGIApp
from tests.support.passthrough import (
    CASES,
    HOST,
    PREFIX,
    PREFIX_CASES,
    SERVED_THROUGH,
    UPLOAD,
    Case,
    Snapshot,
    snapshot,
)
from tests.test_apps import passthrough


def served_in_process(through: str) -> ASGIApp:
    if through == "bridge":
        return passthrough.bridged
    from tests.test_apps.passthrough_gateway import create

    return create()


def via_flask_test_client(request: httpx.Request, *, script_name: str = "") -> Snapshot:
    client = passthrough.app.test_client(use_cookies=False)  # its jar would replace Cookie
    response = client.open(
        request.url.raw_path.decode("ascii"),
        method=request.method,
        headers=list(request.headers.multi_items()),
        data=request.content,
        base_url=f"http://{HOST}{script_name}",
    )
    return snapshot(response.status_code, response.headers.to_wsgi_list(), response.get_data())


async def via_asgi(asgi_app: ASGIApp, request: httpx.Request, *, root_path: str = "") -> Snapshot:
    transport = httpx.ASGITransport(asgi_app, root_path=root_path)
    async with httpx.AsyncClient(transport=transport) as client:
        response = await client.send(request)
    return snapshot(response.status_code, response.headers.multi_items(), response.content)


@pytest.mark.parametrize("through", SERVED_THROUGH)
@pytest.mark.parametrize("case", [c for c in CASES if c.in_process], ids=lambda c: c.name)
async def test_case_matches_flask_alone_in_process(case: Case, through: str) -> None:
    """The response through the bridge equals Flask's own answer to the same request."""
    alone = via_flask_test_client(case.request(f"http://{HOST}"))
    served = await via_asgi(served_in_process(through), case.request(f"http://{HOST}"))
    assert served == alone
    assert served[0] == case.status


@pytest.mark.parametrize("through", SERVED_THROUGH)
@pytest.mark.parametrize("case", PREFIX_CASES, ids=lambda c: c.name)
async def test_case_under_a_prefix_matches_flask_alone_in_process(case: Case, through: str) -> None:
    """Mounted under a prefix (root_path), the bridge answers as Flask under that SCRIPT_NAME."""
    alone = via_flask_test_client(case.request(f"http://{HOST}"), script_name=PREFIX)
    request = case.request(f"http://{HOST}{PREFIX}")
    served = await via_asgi(served_in_process(through), request, root_path=PREFIX)
    assert served == alone
    assert served[0] == case.status


@pytest.mark.parametrize("through", SERVED_THROUGH)
async def test_several_cookie_headers_read_as_one_in_process(through: str) -> None:
    """Several Cookie fields reach Flask as one joined with "; ", so every cookie is seen."""
    split = Case("split", "GET", "/cookies/echo", headers=(("Cookie", "a=1"), ("Cookie", "b=2")))
    joined = Case("joined", "GET", "/cookies/echo", headers=(("Cookie", "a=1; b=2"),))
    served = await via_asgi(served_in_process(through), split.request(f"http://{HOST}"))
    assert served == via_flask_test_client(joined.request(f"http://{HOST}"))
    assert served[2] == b'{"a":"1","b":"2"}\n'


@pytest.mark.parametrize("through", SERVED_THROUGH)
async def test_session_counts_alike_in_process(through: str) -> None:
    """A session cookie set by Flask comes back and counts up through the bridge as alone."""
    transport = httpx.ASGITransport(served_in_process(through))
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{HOST}") as client:
        served = [(await client.post("/session/incr")).json()["count"] for _ in range(3)]
    alone_client = passthrough.app.test_client()
    alone = [alone_client.post("/session/incr").get_json()["count"] for _ in range(3)]
    assert served == alone == [1, 2, 3]


@pytest.mark.parametrize("through", SERVED_THROUGH)
async def test_chunked_upload_reaches_flask_whole_in_process(through: str) -> None:
    """A request body of unknown length (chunked) reaches Flask in full."""

    async def parts() -> Any:
        for i in range(5):
            yield UPLOAD[i * 1000 : (i + 1) * 1000]

    transport = httpx.ASGITransport(served_in_process(through))
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{HOST}") as client:
        response = await client.post("/echo", content=parts())
    assert response.json()["length"] == 5000
    assert response.json()["transfer_encoding"] == "chunked"


@pytest.mark.parametrize("through", SERVED_THROUGH)
async def test_asgi_scope_is_reachable_from_flask_in_process(through: str) -> None:
    """Flask sees the original ASGI scope as environ["asgi.scope"]."""
    transport = httpx.ASGITransport(served_in_process(through), root_path=PREFIX)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{HOST}") as client:
        response = await client.get(f"{PREFIX}/asgi-scope")
    assert response.json() == {"type": "http", "path": f"{PREFIX}/asgi-scope", "root_path": PREFIX}
