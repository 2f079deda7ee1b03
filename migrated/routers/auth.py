"""POST /login: the demo credentials for a 24-hour token."""

from __future__ import annotations

from fastapi import APIRouter

from migrated.docs import html_error, json_error, request_body
from migrated.domain import issue_token
from migrated.errors import ApiError
from migrated.schemas import LoginRequest, TokenResponse
from migrated.validation import login_request
from strangler import compat

router = APIRouter(tags=["auth"])


@router.post(
    "/login",
    response_model=TokenResponse,
    openapi_extra=request_body(LoginRequest),
    responses={
        400: json_error(
            "Username or password missing; a malformed body gets Flask's HTML page instead.",
            "Missing credentials",
        ),
        401: json_error("Wrong credentials.", "Invalid credentials"),
        415: html_error("The Content-Type is not JSON (Flask's HTML page, as in legacy)."),
        500: html_error("A JSON body that is not an object, e.g. a number (Flask's HTML page)."),
    },
)
async def login(request: compat.Legacy) -> compat.FlaskJSONResponse:
    """Exchanges the demo credentials (`admin` / `password`) for a token valid 24 hours."""
    # No try, as in legacy: Werkzeug's 400/415 for a bad body is answered with its HTML page.
    credentials = login_request(request.get_json())
    if credentials.username == "admin" and credentials.password == "password":
        return compat.jsonify({"token": issue_token(credentials.username)})
    raise ApiError(401, "Invalid credentials")
