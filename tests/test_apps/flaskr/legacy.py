"""flaskr on a scratch SQLite database (one per process), and the hook that empties it."""

from __future__ import annotations

import tempfile
from pathlib import Path

from tests.test_apps.flaskr.flaskr import create_app
from tests.test_apps.flaskr.flaskr.db import init_db

DATABASE = Path(tempfile.mkdtemp(prefix="flaskr-")) / "flaskr.sqlite"
app = create_app({"DATABASE": str(DATABASE), "SECRET_KEY": "dev"})


def reset() -> None:
    """Drops and re-creates flaskr's tables (its own `init-db` command): every play starts empty."""
    with app.app_context():
        init_db()


reset()
