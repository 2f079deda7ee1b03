"""OpenAPI fragments: the raw-body request schemas and legacy's documented error answers.

The predict and login routes read the raw body (to decode it exactly as Flask did), so FastAPI
cannot see their request models; `request_body` documents them by hand.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from migrated.schemas import ErrorResponse


def request_body(model: type[BaseModel]) -> dict[str, Any]:
    """Returns `openapi_extra` that documents `model` as the required JSON request body."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": model.model_json_schema()}},
        }
    }


def json_error(description: str, *messages: str) -> dict[str, Any]:
    """Documents a legacy `{"error": ...}` answer with one example per message."""
    examples = {message: {"value": {"error": message}} for message in messages}
    return {
        "model": ErrorResponse,
        "description": description,
        "content": {"application/json": {"examples": examples}},
    }


def html_error(description: str) -> dict[str, Any]:
    """Documents an answer Flask itself rendered as an HTML page."""
    return {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}


TOKEN_ERRORS: dict[int | str, dict[str, Any]] = {
    401: json_error("No token, or not a valid one.", "Token is missing", "Token is invalid"),
}
