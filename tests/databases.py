"""Real databases for tests: a fresh SQLite file, or a fresh schema on the local PostgreSQL.

PostgreSQL is the server at VEIL_TEST_POSTGRES_URL (default: the local one, database
`test`, trust auth). Each test gets its own schema (chosen by `search_path` in the URL), so
tests never see each other's rows and the schema is dropped afterwards.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa

POSTGRES_URL = os.environ.get("VEIL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = ("sqlite", "postgresql")


@contextlib.contextmanager
def database_url(backend: str, directory: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{directory / 'veil.db'}"
        return
    schema = f"veil_test_{secrets.token_hex(6)}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        yield f"{POSTGRES_URL}?options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text("SET lock_timeout = '10s'"))
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@contextlib.contextmanager
def schema_away(schema: str) -> Iterator[None]:
    """The PostgreSQL schema renamed away for the block, then back: connections stay up,
    every query of Veil's fails (its tables are gone)."""
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'ALTER SCHEMA "{schema}" RENAME TO "{schema}_away"'))
        try:
            yield
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'ALTER SCHEMA "{schema}_away" RENAME TO "{schema}"'))
    finally:
        admin.dispose()
