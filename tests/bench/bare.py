"""The yardstick: a bare Flask JSON endpoint, served by gunicorn with Limber's own settings."""

from flask import Flask

app = Flask(__name__)


@app.get("/bare")
def bare():
    return {"ok": True}
