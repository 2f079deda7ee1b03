"""Path parameters typed as Flask's URL converters match them.

FastAPI's `note_id: int` accepts "-1", "+1" and " 1"; Flask's `<int:note_id>` matches digits
only, so those paths were legacy's 404. `IntPath` and `FloatPath` refuse what the converters
refuse; install_legacy_errors turns a refused path parameter into Werkzeug's 404, as Flask's
router answered.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator

_DIGITS = re.compile(r"\d+")
_DECIMAL = re.compile(r"\d+\.\d+")  # Flask's FloatConverter: no sign, no exponent, a dot


def _matching(pattern: re.Pattern[str], what: str) -> BeforeValidator:
    def check(value: Any) -> Any:
        if isinstance(value, str) and not pattern.fullmatch(value):
            raise ValueError(f"Flask's {what} converter does not match {value!r}")
        return value

    return BeforeValidator(check)


IntPath = Annotated[int, _matching(_DIGITS, "int")]
FloatPath = Annotated[float, _matching(_DECIMAL, "float")]
