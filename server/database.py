"""Engine settings that make SQLite safe under several gunicorn workers.

WAL lets readers run beside one writer; the busy timeout makes a writer wait for the lock
instead of failing. A deferred transaction that reads and then writes gets SQLITE_BUSY at once,
ignoring the busy timeout, so requests that write start with BEGIN IMMEDIATE (see
`write_transactions`). pysqlite's own transaction handling is switched off so ours is used.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from contextvars import ContextVar

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

SQLITE_BUSY_TIMEOUT_MS = 15_000
log = logging.getLogger(__name__)

_begin_immediate: ContextVar[bool] = ContextVar("limber_begin_immediate", default=False)


@contextmanager
def write_transactions():
    """Within this block, SQLite transactions take the write lock when they begin."""
    token = _begin_immediate.set(True)
    try:
        yield
    finally:
        _begin_immediate.reset(token)


def mark_writing() -> object:
    """Like `write_transactions`, for code that cannot use a with-block (request hooks)."""
    return _begin_immediate.set(True)


def unmark_writing(token: object) -> None:
    _begin_immediate.reset(token)


def sqlite_engine_options(url: str) -> dict:
    if url in ("sqlite://", "sqlite:///:memory:"):
        return {}
    # timeout: sqlite3's own wait for a lock, the same as the busy timeout set below.
    return {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "isolation_level": None}}


def configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _begin_immediate.get() else "BEGIN")


def is_writing() -> bool:
    """True inside a request or block that writes (its transactions begin IMMEDIATE on SQLite)."""
    return _begin_immediate.get()


def end_sessions_safely(app: Flask, db: SQLAlchemy) -> None:
    """End each request's session without letting a dead connection replace its answer.

    Flask-SQLAlchemy ends the session after the answer is made, with a ROLLBACK. When the
    database went away in between (a PostgreSQL restart), that ROLLBACK raises, and the
    exception would turn an answer already decided (a log stored: 201) into gunicorn's bare 500.
    The connection is dead either way; SQLAlchemy has already dropped it from the pool.
    Teardowns run in reverse order of registration, so this one runs before Flask-SQLAlchemy's,
    which then finds no session left to end.
    """

    @app.teardown_appcontext
    def _end_session(_error):
        try:
            db.session.remove()
        except DBAPIError as error:
            db.session.registry.clear()
            log.warning("the database connection was lost while ending a request: %s", error.orig)
