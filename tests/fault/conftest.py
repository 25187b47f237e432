"""Fault tests: real servers on loopback (gunicorn, PostgreSQL, the fake push service) and real
faults (SIGKILL, a database restart). They start their own PostgreSQL so they can restart it
without cutting the connections of the rest of the run, so they run once, in the SQLite pass."""

from __future__ import annotations

import pytest

from tests.support.postgres import running_postgres


@pytest.fixture(scope="session")
def own_postgres():
    """A PostgreSQL server these tests own and may restart. Missing PostgreSQL is an error,
    never a skip: `make test` installs it."""
    with running_postgres() as server:
        yield server
