"""The two ways the migrated app fails a request, both exactly as legacy failed it.

    Exception
    ├── ApiError     legacy's own answer: `{"error": message}` with a 400, 401 or 500 status
    └── FlaskError   Flask's answer when the view had no say: werkzeug's HTML page for the status

`migrated.app` installs a handler for each; routes and dependencies only raise.
"""

from __future__ import annotations


class ApiError(Exception):
    """Raised for a JSON error answer; `message` is legacy's text, word for word."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class FlaskError(Exception):
    """Raised where legacy let Flask answer (e.g. /login's bad body): an HTML error page."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status}: {reason}")
        self.status = status
