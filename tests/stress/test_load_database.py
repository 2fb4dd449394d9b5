"""Under load, one process's writers on SQLite take turns; none fails for waiting on another.

Found by the load test: with 200 conversations at once, a request now and then failed with
503 (vault_unavailable, or storage_unavailable as a stream's last event). SQLite has one
write lock, and a thread waiting for it sits in SQLite's busy handler, which sleeps and
polls: a thread can be passed over until its busy timeout runs out while its neighbours,
holding the lock a few milliseconds each (longer when they wait for the GIL), take it
again and again. Here 15 writers hold it 20 ms at a time: in turn, none waits more than
~0.3 s, well within the 1 s timeout; left to the busy handler, some wait over 1 s.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from veil.store.database import Database, StoreError

WRITERS = 15
TRANSACTIONS = 5
HOLD_SECONDS = 0.02
BUSY_TIMEOUT_MS = 1000


def test_one_process_writers_queue_instead_of_failing_on_the_busy_timeout(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'veil.db'}", busy_timeout_ms=BUSY_TIMEOUT_MS)
    with db.write() as conn:
        conn.exec_driver_sql("CREATE TABLE turns (writer INTEGER, n INTEGER)")
    failures: list[str] = []

    def writer(number: int) -> None:
        for n in range(TRANSACTIONS):
            try:
                with db.write() as conn:
                    conn.exec_driver_sql("INSERT INTO turns VALUES (?, ?)", (number, n))
                    time.sleep(HOLD_SECONDS)  # a holder descheduled, as when it waits for the GIL
            except StoreError as error:
                failures.append(str(error))

    threads = [threading.Thread(target=writer, args=(number,)) for number in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    with db.read() as conn:
        rows = conn.exec_driver_sql("SELECT count(*) FROM turns").scalar_one()
    db.dispose()
    assert failures == []
    assert rows == WRITERS * TRANSACTIONS
