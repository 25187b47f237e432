"""Limber: the application factory."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from server.api import register_api
from server.api.access import register_access
from server.cli import register_cli
from server.config import Config, read_or_create_secret
from server.database import configure_sqlite, end_sessions_safely, sqlite_engine_options
from server.errors import register_error_handlers
from server.extensions import api, db, limiter, migrate
from server.json_input import SafeJSONProvider
from server.security_headers import register_security_headers
from server.web import bp as web_blueprint

MIGRATIONS_PATH = Path(__file__).resolve().parent.parent / "migrations"


def create_app(config: dict | None = None) -> Flask:
    """Build an app; `config` overrides settings read from the environment (tests use this)."""
    settings = Config().as_dict()
    settings.update(config or {})
    instance_path = Path(settings["INSTANCE_PATH"])
    instance_path.mkdir(parents=True, exist_ok=True)
    app = Flask(__name__, instance_path=str(instance_path), static_folder=None)
    app.config.update(settings)
    app.json = SafeJSONProvider(app)
    _register_secret_key(app)
    _register_extensions(app)
    register_error_handlers(app)
    register_security_headers(app)
    register_access(app)
    register_api(app)
    app.register_blueprint(web_blueprint)
    register_cli(app)
    if app.config["TRUSTED_PROXIES"]:
        count = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)
    logging.getLogger("server").setLevel(logging.INFO)
    return app


def _register_secret_key(app: Flask) -> None:
    # Made once into instance/ and reused, so sessions survive restarts and all workers agree.
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = read_or_create_secret(
            Path(app.instance_path) / "secret_key", lambda: secrets.token_urlsafe(48)
        )


def _register_extensions(app: Flask) -> None:
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if url.startswith("sqlite"):
        options = {**sqlite_engine_options(url), **options}
    else:
        # Reconnect transparently after the database restarts instead of failing one request.
        options.setdefault("pool_pre_ping", True)
    # A database error's text otherwise carries the statement's values (notes, token hashes,
    # push endpoints), and such errors are logged.
    options.setdefault("hide_parameters", True)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    db.init_app(app)
    end_sessions_safely(app, db)
    if url.startswith("sqlite"):
        with app.app_context():
            configure_sqlite(db.engine)
    migrate.init_app(app, db, directory=str(MIGRATIONS_PATH), render_as_batch=True)
    api.init_app(app)
    limiter.init_app(app)
