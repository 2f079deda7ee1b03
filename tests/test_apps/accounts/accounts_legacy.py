"""The accounts pair's legacy Flask app: a login kept in Flask's signed session cookie.

No server-side state at all (so no contract reset hook): who is logged in travels in the cookie.
"""

from __future__ import annotations

from flask import Flask, jsonify, redirect, request, session
from flask.typing import ResponseReturnValue

USERS = {"ada": "lovelace", "alan": "turing"}
SECRET = "accounts-pair-tests-only-secret-key"

app = Flask(__name__)
app.secret_key = SECRET


@app.post("/login")
def login() -> ResponseReturnValue:
    user, password = request.form.get("user", ""), request.form.get("password", "")
    if USERS.get(user) != password:
        return jsonify(error="wrong user or password"), 401
    session["user"] = user
    return redirect("/me", code=303)


@app.get("/me")
def me() -> ResponseReturnValue:
    if "user" not in session:
        return jsonify(error="log in first"), 401
    return jsonify(user=session["user"])


@app.post("/logout")
def logout() -> ResponseReturnValue:
    session.pop("user", None)
    return jsonify(ok=True)


@app.get("/square")
def square() -> ResponseReturnValue:
    text = request.args.get("n", "")
    if not text.lstrip("-").isdigit():
        return jsonify(error="n must be a whole number"), 400
    return jsonify(n=int(text), square=int(text) ** 2)
