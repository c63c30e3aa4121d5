"""The seed's "Securing Flask APIs using JWT" demo, in PyJWT 2 syntax: the row of bench/run.sh's
table that shows where tokengate came from.

Routes as in the seed: /login (HTTP Basic, password "pyconid", answers {"token": ...}), /unprotected,
and /protected, which takes the token from ?token=... as the seed does and, so that wrk can drive it
like the other servers, also from an "Authorization: Bearer" header.

Changes PyJWT 2 requires or the seed's own code gets wrong: jwt.decode names its algorithms (PyJWT 2
refuses to guess them); jwt.encode returns str, not bytes; the expiry is an aware UTC datetime
(datetime.utcnow is deprecated); the "try" block of the decorator is indented so that it runs (in
the seed it sits after a "return" and never does); the Basic realm is quoted as RFC 7617 wants.

Settings (environment): FLASK_SECRET_KEY (default the seed's "indonesia"), FLASK_TOKEN_TTL (seconds,
default the seed's 40).

    gunicorn --chdir bench/flask app:app      (Debian: python3-flask, python3-jwt, gunicorn)
"""

import datetime
import os
from functools import wraps

import jwt
from flask import Flask, jsonify, make_response, request

app = Flask(__name__)

app.config["SECRET_KEY"] = os.environ.get("FLASK_SECRET_KEY", "indonesia")
TOKEN_TTL = datetime.timedelta(seconds=int(os.environ.get("FLASK_TOKEN_TTL", "40")))


def bearer_token():
    """The token of an "Authorization: Bearer ..." header, or None."""
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials:
        return credentials.strip()
    return None


# Token Decorator
def token_required(f):
    @wraps(f)
    def decorated(*args, **kwargs):
        token = request.args.get("token") or bearer_token()

        if not token:
            return jsonify({"message": "Token is missing"}), 403

        try:
            jwt.decode(token, app.config["SECRET_KEY"], algorithms=["HS256"])
        except jwt.InvalidTokenError:
            return jsonify({"message": "Token is invalid!"}), 403

        return f(*args, **kwargs)

    return decorated


# Unprotected Route and function
@app.route("/unprotected")
def unprotected():
    return jsonify({"message": "Anyone can view this."})


# Protected Route and function
@app.route("/protected")
@token_required
def protected():
    return jsonify({"message": "Only available to people with valid tokens."})


# Login Route and function
@app.route("/login")
def login():
    auth = request.authorization

    if auth and auth.password == "pyconid":
        token = jwt.encode(
            {"user": auth.username, "exp": datetime.datetime.now(datetime.timezone.utc) + TOKEN_TTL},
            app.config["SECRET_KEY"],
            algorithm="HS256",
        )
        return jsonify({"token": token})

    return make_response("Could not verify!", 401, {"WWW-Authenticate": 'Basic realm="Login Required"'})


if __name__ == "__main__":
    app.run(debug=True)
