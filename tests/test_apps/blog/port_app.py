"""The blog pair's FastAPI port: plain SQLAlchemy sessions (a sessionmaker in a dependency), the
same answers as legacy. `create_app(url, broken=True)` is a port with two slips a review could
miss: favoriting adds two, and a taken username answers 422 instead of legacy's 409."""

import os
from collections.abc import Iterator
from typing import Annotated, Any

import jwt
from fastapi import Depends, FastAPI, Header, Request
from fastapi.responses import JSONResponse
from sqlalchemy import create_engine, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.test_apps.blog.schema import SECRET, articles, password_hash, slug_of, users


def create_app(url: str, *, broken: bool = False) -> tuple[FastAPI, Engine]:
    engine = create_engine(url)
    sessions = sessionmaker(engine)
    app = FastAPI()

    def session() -> Iterator[Session]:
        with sessions() as s:
            yield s

    Db = Annotated[Session, Depends(session)]

    def error(status: int, field: str, message: str) -> JSONResponse:
        return JSONResponse({"errors": {field: [message]}}, status)

    def current_user(db: Session, authorization: str | None) -> Any:
        if not authorization or not authorization.startswith("Token "):
            return None
        try:
            claims = jwt.decode(authorization[6:], SECRET, algorithms=["HS256"])
        except jwt.InvalidTokenError:
            return None
        return db.execute(select(users).where(users.c.username == claims["sub"])).first()

    def article_view(db: Session, row: Any) -> dict[str, Any]:
        author = db.execute(select(users.c.username).where(users.c.id == row.author_id))
        return {
            "slug": row.slug,
            "title": row.title,
            "body": row.body,
            "author": author.scalar_one(),
            "favorites": row.favorites,
        }

    async def body_of(request: Request) -> dict[str, Any]:
        try:
            data = await request.json()
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    @app.post("/users")
    async def register(request: Request, db: Db) -> JSONResponse:
        data = await body_of(request)
        username, email = data.get("username"), data.get("email")
        password = data.get("password")
        if not all(isinstance(v, str) and v for v in (username, email, password)):
            return error(422, "body", "username, email and password are required")
        if db.execute(select(users.c.id).where(users.c.username == username)).first():
            return error(422 if broken else 409, "username", "has already been taken")
        db.execute(
            insert(users).values(
                username=username, email=email, password_hash=password_hash(str(password))
            )
        )
        db.commit()
        return JSONResponse({"user": {"username": username, "email": email}}, 201)

    @app.post("/login")
    async def login(request: Request, db: Db) -> JSONResponse:
        data = await body_of(request)
        row = db.execute(select(users).where(users.c.username == data.get("username", ""))).first()
        if row is None or row.password_hash != password_hash(str(data.get("password", ""))):
            return error(401, "credentials", "are invalid")
        return JSONResponse({"token": jwt.encode({"sub": row.username}, SECRET, "HS256")})

    @app.post("/articles")
    async def create_article(
        request: Request, db: Db, authorization: Annotated[str | None, Header()] = None
    ) -> JSONResponse:
        user = current_user(db, authorization)
        if user is None:
            return error(401, "token", "is missing or invalid")
        data = await body_of(request)
        title, body = data.get("title"), data.get("body")
        if not (isinstance(title, str) and title and isinstance(body, str)):
            return error(422, "body", "title and body are required")
        slug = slug_of(title)
        if db.execute(select(articles.c.id).where(articles.c.slug == slug)).first():
            return error(409, "slug", "has already been taken")
        db.execute(
            insert(articles).values(
                slug=slug, title=title, body=body, author_id=user.id, favorites=0
            )
        )
        db.commit()
        row = db.execute(select(articles).where(articles.c.slug == slug)).one()
        return JSONResponse({"article": article_view(db, row)}, 201)

    @app.post("/articles/{slug}/favorite")
    def favorite(
        slug: str, db: Db, authorization: Annotated[str | None, Header()] = None
    ) -> JSONResponse:
        # A sync endpoint (run in Starlette's thread pool): the sandbox must follow it there.
        if current_user(db, authorization) is None:
            return error(401, "token", "is missing or invalid")
        if db.execute(select(articles).where(articles.c.slug == slug)).first() is None:
            return error(404, "article", "not found")
        step = 2 if broken else 1
        db.execute(
            update(articles)
            .where(articles.c.slug == slug)
            .values(favorites=articles.c.favorites + step)
        )
        db.commit()
        row = db.execute(select(articles).where(articles.c.slug == slug)).one()
        return JSONResponse({"article": article_view(db, row)})

    @app.get("/articles/{slug}")
    def show(slug: str, db: Db) -> JSONResponse:
        row = db.execute(select(articles).where(articles.c.slug == slug)).first()
        if row is None:
            return error(404, "article", "not found")
        return JSONResponse({"article": article_view(db, row)})

    return app, engine


if os.environ.get("BLOG_DATABASE_URL"):
    app, engine = create_app(os.environ["BLOG_DATABASE_URL"])
    broken_app, broken_engine = create_app(os.environ["BLOG_DATABASE_URL"], broken=True)
