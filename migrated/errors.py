"""How the migrated app fails a request, exactly as legacy failed it.

    Exception
    ├── ApiError (strangler.compat.Answered)   legacy's own answer: `{"error": message}`
    └── werkzeug.exceptions.HTTPException      Flask's answer where the view had no say (a bad
                                               /login body): Werkzeug's HTML page for the status

`strangler.compat.install_legacy_errors` (in `migrated.app`) answers both, and every error the
routing makes (404, 405); routes and dependencies only raise.
"""

from __future__ import annotations

from strangler import compat


class ApiError(compat.Answered):
    """Raised for a JSON error answer; `message` is legacy's text, word for word."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def response(self) -> compat.FlaskJSONResponse:
        """Legacy's `jsonify({"error": message}), status`."""
        return compat.jsonify({"error": self.message}, self.status)
