"""The blog pair's tables, shared by its legacy app and its ports (one database both use)."""

from __future__ import annotations

import hashlib

from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table, Text

SECRET = "blog-pair-tests-only-secret-key-32b"

metadata = MetaData()

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(50), unique=True, nullable=False),
    Column("email", String(120), nullable=False),
    Column("password_hash", String(128), nullable=False),
)

articles = Table(
    "articles",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("slug", String(120), unique=True, nullable=False),
    Column("title", String(120), nullable=False),
    Column("body", Text, nullable=False),
    Column("author_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("favorites", Integer, nullable=False, default=0),
)


def password_hash(password: str) -> str:
    """A slow-enough hash for a test app (a fixed salt: tests compare rows, not secrets)."""
    return hashlib.pbkdf2_hmac("sha256", password.encode(), b"blog", 1000).hex()


def slug_of(title: str) -> str:
    return "-".join(title.lower().split())
