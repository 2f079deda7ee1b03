"""The Conduit pair's database and rules, shared by its legacy app and its port.

One SQLite database in memory, shared by both apps of this process (a named, shared-cache
database kept open by the module's own connection); `reset()` empties it, as the contract
run's reset hook.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import jwt

SECRET = "conduit-pair-tests-only-secret-key-32"
_URI = f"file:conduit-{os.getpid()}?mode=memory&cache=shared"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY, username TEXT UNIQUE NOT NULL, email TEXT UNIQUE NOT NULL,
    password_hash TEXT NOT NULL, bio TEXT NOT NULL DEFAULT '', image TEXT
);
CREATE TABLE IF NOT EXISTS articles (
    id INTEGER PRIMARY KEY, slug TEXT UNIQUE NOT NULL, title TEXT NOT NULL,
    description TEXT NOT NULL, body TEXT NOT NULL, tags TEXT NOT NULL DEFAULT '',
    author_id INTEGER NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE TABLE IF NOT EXISTS favorites (
    user_id INTEGER NOT NULL, article_id INTEGER NOT NULL, PRIMARY KEY (user_id, article_id)
);
"""
# Both apps call in from threads of their own (the WSGI bridge's pool, Starlette's threadpool):
# one connection, one lock, so a request sees every write made before it.
_lock = threading.Lock()
_db = sqlite3.connect(_URI, uri=True, check_same_thread=False)
_db.row_factory = sqlite3.Row
_db.executescript(_SCHEMA)


class Problem(Exception):
    """An answer of the Conduit API's error shape: `{"errors": {field: [message]}}`."""

    def __init__(self, status: int, field: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"errors": {field: [message]}}


@contextmanager
def database() -> Iterator[sqlite3.Connection]:
    with _lock, _db:  # one transaction per use
        yield _db


def reset() -> None:
    """Empties every table (the contract run's reset hook)."""
    with database() as db:
        db.executescript("DELETE FROM favorites; DELETE FROM articles; DELETE FROM users;")


def token_for(username: str) -> str:
    return jwt.encode({"sub": username}, SECRET, algorithm="HS256")


def _hash(password: str) -> str:
    return hashlib.sha256(b"conduit:" + password.encode()).hexdigest()


def user_of(authorization: str | None) -> dict[str, Any] | None:
    """The user an `Authorization: Token ...` header names, or None."""
    if not authorization or not authorization.startswith("Token "):
        return None
    try:
        claims = jwt.decode(authorization[6:], SECRET, algorithms=["HS256"])
    except jwt.InvalidTokenError:
        return None
    with database() as db:
        row = db.execute("SELECT * FROM users WHERE username = ?", (claims.get("sub"),)).fetchone()
    return dict(row) if row else None


def required(authorization: str | None) -> dict[str, Any]:
    user = user_of(authorization)
    if user is None:
        raise Problem(401, "token", "is missing or invalid")
    return user


def user_view(user: dict[str, Any]) -> dict[str, Any]:
    return {
        "user": {
            "email": user["email"],
            "token": token_for(user["username"]),
            "username": user["username"],
            "bio": user["bio"],
            "image": user["image"],
        }
    }


def register(data: Any) -> dict[str, Any]:
    fields = data.get("user") if isinstance(data, dict) else None
    fields = fields if isinstance(fields, dict) else {}
    username, email, password = (fields.get(k) for k in ("username", "email", "password"))
    if not all(isinstance(v, str) and v for v in (username, email, password)):
        raise Problem(422, "body", "username, email and password are required")
    with database() as db:
        try:
            db.execute(
                "INSERT INTO users (username, email, password_hash) VALUES (?, ?, ?)",
                (username, email, _hash(str(password))),
            )
        except sqlite3.IntegrityError:
            raise Problem(422, "username", "has already been taken") from None
        row = db.execute("SELECT * FROM users WHERE username = ?", (username,)).fetchone()
    return user_view(dict(row))


def login(data: Any) -> dict[str, Any]:
    fields = data.get("user") if isinstance(data, dict) else None
    fields = fields if isinstance(fields, dict) else {}
    with database() as db:
        row = db.execute("SELECT * FROM users WHERE email = ?", (fields.get("email"),)).fetchone()
    if row is None or row["password_hash"] != _hash(str(fields.get("password", ""))):
        raise Problem(403, "email or password", "is invalid")
    return user_view(dict(row))


def profile(username: str, viewer: dict[str, Any] | None) -> dict[str, Any]:
    with database() as db:
        row = db.execute("SELECT * FROM users WHERE username = ?", (username,)).fetchone()
    if row is None:
        raise Problem(404, "profile", "not found")
    return {
        "profile": {
            "username": row["username"],
            "bio": row["bio"],
            "image": row["image"],
            "following": False,
        }
    }


def _article(db: sqlite3.Connection, row: sqlite3.Row, viewer: dict[str, Any] | None) -> Any:
    author = db.execute("SELECT * FROM users WHERE id = ?", (row["author_id"],)).fetchone()
    count = db.execute(
        "SELECT COUNT(*) FROM favorites WHERE article_id = ?", (row["id"],)
    ).fetchone()[0]
    mine = (
        viewer is not None
        and db.execute(
            "SELECT 1 FROM favorites WHERE article_id = ? AND user_id = ?",
            (row["id"], viewer["id"]),
        ).fetchone()
        is not None
    )
    return {
        "slug": row["slug"],
        "title": row["title"],
        "description": row["description"],
        "body": row["body"],
        "tagList": [t for t in row["tags"].split(",") if t],
        "createdAt": row["created_at"],
        "updatedAt": row["created_at"],
        "favorited": mine,
        "favoritesCount": count,
        "author": {"username": author["username"], "bio": author["bio"], "image": None},
    }


def article(slug: str, viewer: dict[str, Any] | None) -> dict[str, Any]:
    with database() as db:
        row = db.execute("SELECT * FROM articles WHERE slug = ?", (slug,)).fetchone()
        if row is None:
            raise Problem(404, "article", "not found")
        return {"article": _article(db, row, viewer)}


def create_article(data: Any, author: dict[str, Any]) -> dict[str, Any]:
    fields = data.get("article") if isinstance(data, dict) else None
    fields = fields if isinstance(fields, dict) else {}
    title, body = fields.get("title"), fields.get("body")
    if not (isinstance(title, str) and title and isinstance(body, str) and body):
        raise Problem(422, "body", "title and body are required")
    slug = "-".join(title.lower().split())
    tags = ",".join(str(t) for t in fields.get("tagList") or [])
    with database() as db:
        try:
            db.execute(
                "INSERT INTO articles (slug, title, description, body, tags, author_id)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (slug, title, str(fields.get("description", "")), body, tags, author["id"]),
            )
        except sqlite3.IntegrityError:
            raise Problem(422, "title", "has already been taken") from None
        row = db.execute("SELECT * FROM articles WHERE slug = ?", (slug,)).fetchone()
        return {"article": _article(db, row, author)}


def delete_article(slug: str, user: dict[str, Any]) -> None:
    with database() as db:
        row = db.execute("SELECT * FROM articles WHERE slug = ?", (slug,)).fetchone()
        if row is None:
            raise Problem(404, "article", "not found")
        if row["author_id"] != user["id"]:
            raise Problem(403, "article", "is not yours")
        db.execute("DELETE FROM favorites WHERE article_id = ?", (row["id"],))
        db.execute("DELETE FROM articles WHERE id = ?", (row["id"],))


def favorite(slug: str, user: dict[str, Any], on: bool) -> dict[str, Any]:
    with database() as db:
        row = db.execute("SELECT * FROM articles WHERE slug = ?", (slug,)).fetchone()
        if row is None:
            raise Problem(404, "article", "not found")
        if on:
            db.execute(
                "INSERT OR IGNORE INTO favorites (user_id, article_id) VALUES (?, ?)",
                (user["id"], row["id"]),
            )
        else:
            db.execute(
                "DELETE FROM favorites WHERE user_id = ? AND article_id = ?",
                (user["id"], row["id"]),
            )
        return {"article": _article(db, row, user)}


def articles(query: dict[str, str], viewer: dict[str, Any] | None) -> dict[str, Any]:
    """`GET /api/articles`: newest first, by `author`, `tag` or `favorited` (a username)."""
    sql = "SELECT a.* FROM articles a JOIN users u ON u.id = a.author_id WHERE 1 = 1"
    params: list[Any] = []
    if "author" in query:
        sql += " AND u.username = ?"
        params.append(query["author"])
    if "tag" in query:
        sql += " AND ',' || a.tags || ',' LIKE ?"
        params.append(f"%,{query['tag']},%")
    if "favorited" in query:
        sql += (
            " AND a.id IN (SELECT f.article_id FROM favorites f JOIN users fu"
            " ON fu.id = f.user_id WHERE fu.username = ?)"
        )
        params.append(query["favorited"])
    with database() as db:
        rows = db.execute(sql + " ORDER BY a.id DESC", params).fetchall()
        found = [_article(db, row, viewer) for row in rows]
    return {"articles": found, "articlesCount": len(found)}


def feed(user: dict[str, Any]) -> dict[str, Any]:
    """`GET /api/articles/feed`: legacy only (no one follows anyone here: the user's own)."""
    return articles({"author": user["username"]}, user)


ALLOWED_METHODS = "GET, POST, PUT, DELETE, OPTIONS"


def cors_headers(origin: str | None, preflight_method: str | None) -> list[tuple[str, str]]:
    """The CORS headers both apps send, as Flask-CORS does for `origins="*"`: the origin
    allowed on every answer to a request with an Origin; a preflight (OPTIONS with
    Access-Control-Request-Method) also gets the methods and headers allowed."""
    if origin is None:
        return []
    headers = [("Access-Control-Allow-Origin", "*"), ("Vary", "Origin")]
    if preflight_method is not None:
        headers += [
            ("Access-Control-Allow-Methods", ALLOWED_METHODS),
            ("Access-Control-Allow-Headers", "Authorization, Content-Type"),
            ("Access-Control-Max-Age", "600"),
        ]
    return headers
