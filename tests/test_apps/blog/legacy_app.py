"""The blog pair's legacy app: Flask, Flask-SQLAlchemy and JWT logins, on any SQLAlchemy URL
(`BLOG_DATABASE_URL`; tests build it with `create_app(url)`)."""

from __future__ import annotations

import os
from typing import Any

import jwt
from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import insert, select, update

from tests.test_apps.blog.schema import SECRET, articles, metadata, password_hash, slug_of, users


def create_app(url: str) -> tuple[Flask, SQLAlchemy]:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    db = SQLAlchemy(app, metadata=metadata)

    def error(status: int, field: str, message: str) -> ResponseReturnValue:
        return jsonify(errors={field: [message]}), status

    def current_user() -> dict[str, Any] | None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Token "):
            return None
        try:
            claims = jwt.decode(header[6:], SECRET, algorithms=["HS256"])
        except jwt.InvalidTokenError:
            return None
        row = db.session.execute(select(users).where(users.c.username == claims["sub"])).first()
        return dict(row._mapping) if row else None

    def article_view(row: Any) -> dict[str, Any]:
        author = db.session.execute(select(users.c.username).where(users.c.id == row.author_id))
        return {
            "slug": row.slug,
            "title": row.title,
            "body": row.body,
            "author": author.scalar_one(),
            "favorites": row.favorites,
        }

    @app.post("/users")
    def register() -> ResponseReturnValue:
        data = request.get_json(silent=True) or {}
        username, email = data.get("username"), data.get("email")
        password = data.get("password")
        if not all(isinstance(v, str) and v for v in (username, email, password)):
            return error(422, "body", "username, email and password are required")
        taken = db.session.execute(select(users.c.id).where(users.c.username == username))
        if taken.first():
            return error(409, "username", "has already been taken")
        db.session.execute(
            insert(users).values(
                username=username, email=email, password_hash=password_hash(password)
            )
        )
        db.session.commit()
        return jsonify(user={"username": username, "email": email}), 201

    @app.post("/login")
    def login() -> ResponseReturnValue:
        data = request.get_json(silent=True) or {}
        row = db.session.execute(
            select(users).where(users.c.username == data.get("username", ""))
        ).first()
        if row is None or row.password_hash != password_hash(str(data.get("password", ""))):
            return error(401, "credentials", "are invalid")
        return jsonify(token=jwt.encode({"sub": row.username}, SECRET, algorithm="HS256"))

    @app.post("/articles")
    def create_article() -> ResponseReturnValue:
        user = current_user()
        if user is None:
            return error(401, "token", "is missing or invalid")
        data = request.get_json(silent=True) or {}
        title, body = data.get("title"), data.get("body")
        if not (isinstance(title, str) and title and isinstance(body, str)):
            return error(422, "body", "title and body are required")
        slug = slug_of(title)
        if db.session.execute(select(articles.c.id).where(articles.c.slug == slug)).first():
            return error(409, "slug", "has already been taken")
        db.session.execute(
            insert(articles).values(
                slug=slug, title=title, body=body, author_id=user["id"], favorites=0
            )
        )
        db.session.commit()
        row = db.session.execute(select(articles).where(articles.c.slug == slug)).one()
        return jsonify(article=article_view(row)), 201

    @app.post("/articles/<slug>/favorite")
    def favorite(slug: str) -> ResponseReturnValue:
        if current_user() is None:
            return error(401, "token", "is missing or invalid")
        row = db.session.execute(select(articles).where(articles.c.slug == slug)).first()
        if row is None:
            return error(404, "article", "not found")
        db.session.execute(
            update(articles)
            .where(articles.c.slug == slug)
            .values(favorites=articles.c.favorites + 1)
        )
        db.session.commit()
        row = db.session.execute(select(articles).where(articles.c.slug == slug)).one()
        return jsonify(article=article_view(row))

    @app.get("/articles/<slug>")
    def show(slug: str) -> ResponseReturnValue:
        row = db.session.execute(select(articles).where(articles.c.slug == slug)).first()
        if row is None:
            return error(404, "article", "not found")
        return jsonify(article=article_view(row))

    return app, db


if os.environ.get("BLOG_DATABASE_URL"):
    app, db = create_app(os.environ["BLOG_DATABASE_URL"])
