"""A RealWorld "Conduit"-like pair (#24): a Flask legacy app on SQLite (the stdlib's sqlite3) with
JWT logins sent as `Authorization: Token ...`, articles by slug, favorites, a legacy-only feed
and CORS headers; and a FastAPI port of a few of its endpoints, `/api/articles/{slug}` among
them, so the port's template also matches legacy's `/api/articles/feed`."""
