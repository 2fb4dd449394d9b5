"""A separate process minting tokens in a shared vault database, for the concurrency test.

Usage: python vault_worker.py CONFIG_JSON. Prints "ready" once the vault is open, waits
for the go file, then prints the (value, token) pairs it was given and when it was
minting, as one JSON line.
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path
from typing import Any

from veil.store.database import Database
from veil.store.keys import EnvKeyProvider
from veil.store.subject_keys import SubjectKeys
from veil.store.vault import DatabaseVault


def main(config: dict[str, Any]) -> None:
    pool = [(entity_type, value) for entity_type, value in config["pool"]]
    rng = random.Random(config["seed"])
    go = Path(config["go_file"])
    db = Database(config["db"])
    db.migrate()
    keys = SubjectKeys(db, EnvKeyProvider(config["master_key"]))
    # A tiny cache sends most lookups to the database, where the processes contend.
    vault = DatabaseVault(db, keys, ttl_seconds=3600, cache_entries=4)
    try:
        print("ready", flush=True)
        while not go.exists():
            time.sleep(0.001)
        observed: list[tuple[str, str]] = []
        started = time.time()
        for _ in range(config["rounds"]):
            batch = rng.sample(pool, 5)
            tokens = vault.tokens_for(config["scope"], batch)
            observed.extend((value, token) for (_, value), token in zip(batch, tokens, strict=True))
        finished = time.time()
    finally:
        db.dispose()
    print(json.dumps({"observed": observed, "started": started, "finished": finished}), flush=True)


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
