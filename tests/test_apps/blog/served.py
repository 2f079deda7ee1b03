"""The blog pair as `strangler serve` runs it: both apps on the database `BLOG_DATABASE_URL`
names, and their engines for `sandbox_databases` (scripts/bench_shadow.py uses it):

    legacy = "tests.test_apps.blog.served:legacy"
    migrated = "tests.test_apps.blog.served:migrated"
    sandbox_databases = ["tests.test_apps.blog.served:engines"]

`engines` is a function: Flask-SQLAlchemy makes its engine inside an app context only."""

from __future__ import annotations

import os

from fastapi import FastAPI
from flask import Flask
from sqlalchemy.engine import Engine

from tests.test_apps.blog import legacy_app, port_app

URL = os.environ.get("BLOG_DATABASE_URL", "")
if not URL:
    raise RuntimeError("set BLOG_DATABASE_URL to the blog's SQLAlchemy URL")

legacy: Flask
migrated: FastAPI
legacy, _db = legacy_app.create_app(URL)
migrated, _engine = port_app.create_app(URL)


def engines() -> list[Engine]:
    """The engines both apps write through: Flask-SQLAlchemy's and the port's."""
    with legacy.app_context():
        return [_db.engine, _engine]
