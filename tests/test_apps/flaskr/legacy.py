"""flaskr on a scratch SQLite database (one per process), and the hook that empties it.

Its password hashes are made with few rounds (scrypt's default costs a tenth of a second per
login, and every contract play logs in): checking a hash reads its method from the hash, so
nothing else changes.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

from werkzeug.security import generate_password_hash

from tests.test_apps.flaskr.flaskr import auth, create_app
from tests.test_apps.flaskr.flaskr.db import init_db

auth.generate_password_hash = functools.partial(  # type: ignore[attr-defined]
    generate_password_hash, method="pbkdf2:sha256:1000"
)

DATABASE = Path(tempfile.mkdtemp(prefix="flaskr-")) / "flaskr.sqlite"
app = create_app({"DATABASE": str(DATABASE), "SECRET_KEY": "dev"})


def reset() -> None:
    """Drops and re-creates flaskr's tables (its own `init-db` command): every play starts empty."""
    with app.app_context():
        init_db()


reset()
