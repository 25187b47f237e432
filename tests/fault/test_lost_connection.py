"""A database connection lost after the answer is made must not replace the answer."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from server import create_app
from server.extensions import db

pytestmark = pytest.mark.fault


def test_a_connection_lost_before_the_request_ends_keeps_its_answer(own_postgres, tmp_path):
    url = own_postgres.create_database("lost_connection")
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "test", "INSTANCE_PATH": tmp_path}
    )

    @app.get("/probe/answered-then-cut")
    def answered_then_cut():
        # The request's transaction is open; the server then ends its backend, as a restart
        # would, after the answer is decided. Ending the session must not raise through Flask.
        backend = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
        killer = create_engine(url)
        with killer.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        killer.dispose()
        return {"stored": True}, 201

    try:
        response = app.test_client().get("/probe/answered-then-cut")
        assert response.status_code == 201 and response.get_json() == {"stored": True}
        # The next request gets a live connection from the pool (the dead one was dropped).
        with app.app_context():
            assert db.session.execute(text("SELECT 1")).scalar() == 1
    finally:
        with app.app_context():
            db.engine.dispose()
