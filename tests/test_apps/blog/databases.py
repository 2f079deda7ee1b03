"""The blog pair's database engines, as `sandbox_databases` names them (see strangler.toml):
legacy's Flask-SQLAlchemy engine, the faithful port's and the broken port's. Every engine
either app may use is listed: in a sandbox an engine nobody covered is stopped."""

from __future__ import annotations

from sqlalchemy.engine import Engine


def engines() -> list[Engine]:
    """The engines of the module-level apps (BLOG_DATABASE_URL must be set before import)."""
    from tests.test_apps.blog import legacy_app, port_app

    if not hasattr(legacy_app, "app"):
        raise RuntimeError("set BLOG_DATABASE_URL to the blog's database before importing it")
    with legacy_app.app.app_context():  # Flask-SQLAlchemy makes its engine per app
        legacy = legacy_app.db.engine
    return [legacy, port_app.engine, port_app.broken_engine]
