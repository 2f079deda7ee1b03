"""A miniature non-ML Flask app that exercises everything a WSGI server must pass through.

Served alone (`gunicorn tests.test_apps.passthrough:app`) and through the bridge
(`uvicorn tests.test_apps.passthrough:bridged`), a client must not tell the two apart.

Streams that tests watch leave marker files in `PASSTHROUGH_STATE_DIR` (a temp dir by default):
`<token>.closed` once a generator is closed or finalised, and the stream under `/stream/gated`
waits (bounded) for `<token>.go` before it sends its second chunk.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, redirect, request, session, url_for

from strangler.bridge.bridge import make_bridge

STATE_DIR = Path(os.environ.get("PASSTHROUGH_STATE_DIR") or tempfile.gettempdir())

app = Flask(__name__)
app.secret_key = "passthrough-tests-only"  # signs the session cookie; never a real secret


@app.get("/")
def index() -> str:
    return "hello from flask"


@app.get("/cookies/set")
def set_cookies() -> Response:
    response = Response("three cookies")
    response.set_cookie("first", "1")
    response.set_cookie("second", "2", path="/cookies", httponly=True)
    response.set_cookie("third", "ünï", samesite="Lax")
    return response


@app.get("/cookies/echo")
def echo_cookies() -> Response:
    return jsonify(dict(sorted(request.cookies.items())))


@app.get("/redirect")
def redirect_away() -> Response:
    return redirect(url_for("target", q="1"))


@app.get("/redirect/external")
def redirect_external() -> Response:
    return redirect(url_for("target", _external=True), code=308)


@app.get("/target")
def target() -> Response:
    return jsonify(url=request.url, script_root=request.script_root, path=request.path)


@app.post("/session/incr")
def session_incr() -> Response:
    session["count"] = session.get("count", 0) + 1
    return jsonify(count=session["count"])


@app.post("/form")
def form() -> Response:
    return jsonify(
        form={key: request.form.getlist(key) for key in sorted(request.form)},
        files={
            key: [
                {
                    "filename": f.filename,
                    "content_type": f.content_type,
                    "sha256": hashlib.sha256(f.read()).hexdigest(),
                }
                for f in request.files.getlist(key)
            ]
            for key in sorted(request.files)
        },
    )


@app.route("/echo", methods=["POST", "PUT"])
def echo() -> Response:
    data = request.get_data()
    return jsonify(
        length=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        content_length=request.headers.get("Content-Length"),
        transfer_encoding=request.headers.get("Transfer-Encoding"),
    )


@app.get("/path/<path:rest>")
def unicode_path(rest: str) -> Response:
    return jsonify(
        rest=rest,
        args={key: request.args.getlist(key) for key in sorted(request.args)},
        path=request.path,
        full_path=request.full_path,
    )


@app.get("/environ")
def environ() -> Response:
    keys = ("SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "HTTP_COOKIE", "HTTP_X_USER")
    seen = {key: request.environ.get(key) for key in keys}
    return jsonify(seen | {"url": url_for("environ", _external=True)})


@app.get("/asgi-scope")
def asgi_scope() -> Response:
    """What the gateway saw; only a server speaking ASGI has it (404 served alone)."""
    scope = request.environ.get("asgi.scope")
    if scope is None:
        return Response("served without ASGI", status=404)
    return jsonify(type=scope["type"], path=scope["path"], root_path=scope.get("root_path", ""))


@app.get("/error")
def error() -> str:
    raise RuntimeError("a bug in a Flask view (Flask answers 500 itself)")


@app.get("/stream/numbers")
def stream_numbers() -> Response:
    count = min(int(request.args.get("n", "5")), 1000)

    def numbers() -> Iterator[str]:
        for i in range(count):
            yield f"line {i}\n"

    return Response(numbers(), mimetype="text/plain")


@app.get("/stream/gated/<token>")
def stream_gated(token: str) -> Response:
    """Sends one chunk, then waits (at most 5 s) for `<token>.go` before the second."""
    go = STATE_DIR / f"{token}.go"

    def chunks() -> Iterator[str]:
        yield "first\n"
        deadline = time.monotonic() + 5.0
        while not go.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        yield "second\n" if go.exists() else "timed out\n"

    return Response(chunks(), mimetype="text/plain")


@app.get("/stream/endless/<token>")
def stream_endless(token: str) -> Response:
    """Streams for at most 20 s; `<token>.closed` marks when its generator was closed."""

    def ticks() -> Iterator[str]:
        try:
            for i in range(2000):
                yield f"tick {i}\n"
                time.sleep(0.01)
        finally:
            (STATE_DIR / f"{token}.closed").write_text(repr(time.time()))

    return Response(ticks(), mimetype="text/plain")


class RawWSGIRoutes:
    """WSGI middleware answering `/raw/...` itself, the way hand-written WSGI code behaves."""

    def __init__(self, wsgi_app: Any) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ["PATH_INFO"]
        if path == "/raw/boom":
            raise RuntimeError("a raw WSGI app failed before start_response")
        if path == "/raw/late-start":
            return self._late_start(start_response)
        if path == "/raw/write":
            write = start_response("200 OK", [("Content-Type", "text/plain")])
            write(b"written, ")
            return [b"then returned"]
        if path == "/raw/exc-info":
            return self._exc_info(start_response)
        if path == "/raw/boom-mid":
            return self._boom_mid(start_response)
        return self.wsgi_app(environ, start_response)  # type: ignore[no-any-return]

    @staticmethod
    def _late_start(start_response: Any) -> Iterator[bytes]:
        start_response("201 Created", [("Content-Type", "text/plain"), ("X-Late", "yes")])
        yield b"started "
        yield b""
        yield b"inside the iterable"

    @staticmethod
    def _exc_info(start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            raise ValueError("the body failed before its first byte")
        except ValueError:
            headers = [("Content-Type", "text/plain")]
            start_response("503 Service Unavailable", headers, sys.exc_info())
        yield b"replaced by the error page"

    @staticmethod
    def _boom_mid(start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"half a response"
        raise RuntimeError("a raw WSGI app failed mid-response")


app.wsgi_app = RawWSGIRoutes(app.wsgi_app)  # type: ignore[method-assign]

bridged = make_bridge(app, threads=4)
