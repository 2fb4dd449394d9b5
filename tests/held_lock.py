"""A lock another connection holds: an operator's `LOCK TABLE` on PostgreSQL, another
process's long write transaction on SQLite (its one write lock; readers go on, in WAL).

It is held from a thread of its own until the block ends, or for `seconds` at most: a test
of code that would wait for it for ever then fails, instead of hanging.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator

import sqlalchemy as sa


@contextlib.contextmanager
def held_lock(url: str, table: str, *, seconds: float) -> Iterator[None]:
    taken, done = threading.Event(), threading.Event()
    parsed = sa.make_url(url)

    def hold() -> None:
        if parsed.get_backend_name() == "sqlite":
            conn = sqlite3.connect(parsed.database or "", isolation_level=None)
            try:
                conn.execute("BEGIN IMMEDIATE")
                taken.set()
                done.wait(seconds)
                conn.execute("ROLLBACK")
            finally:
                conn.close()
            return
        engine = sa.create_engine(parsed)
        try:
            with engine.connect() as conn, conn.begin():
                conn.exec_driver_sql(f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE')
                taken.set()
                done.wait(seconds)
        finally:
            engine.dispose()

    holder = threading.Thread(target=hold, name=f"holding {table}", daemon=True)
    holder.start()
    if not taken.wait(10):
        raise TimeoutError(f"the lock on {table} could not be taken")
    try:
        yield
    finally:
        done.set()
        holder.join(10)
