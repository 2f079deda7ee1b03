"""The pair's legacy Flask app: articles, with CORS headers for its front end's origin."""

from __future__ import annotations

from flask import Flask, Response, jsonify, request
from flask.typing import ResponseReturnValue

FRONT_END = "https://app.example"  # the one origin allowed to read the API from a browser
ARTICLES = {1: "Strangler figs", 2: "Flags, not branches"}

app = Flask(__name__)


@app.get("/articles")
def articles() -> ResponseReturnValue:
    listed = [{"id": k, "title": v} for k, v in ARTICLES.items()]
    return jsonify(articles=listed), 200, {"X-Total-Count": str(len(listed))}


@app.get("/articles/<article_id>")
def article(article_id: str) -> ResponseReturnValue:
    title = ARTICLES.get(int(article_id)) if article_id.isdigit() else None
    if title is None:
        return jsonify(detail="no such article"), 404
    return jsonify(id=int(article_id), title=title)


@app.after_request
def cors(response: Response) -> Response:
    """What Flask-CORS sends for `origins=[FRONT_END], supports_credentials=True,
    expose_headers=["X-Total-Count"]`: a browser on FRONT_END may read the answer, caches keep
    one copy per Origin."""
    origin = request.headers.get("Origin")
    if origin is not None:
        response.headers["Access-Control-Allow-Credentials"] = "true"
        response.headers["Access-Control-Expose-Headers"] = "X-Total-Count"
        if origin == FRONT_END:
            response.headers["Access-Control-Allow-Origin"] = origin
    response.vary.add("Origin")
    return response
