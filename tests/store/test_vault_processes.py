"""Two real processes minting in one scope of one vault database at the same time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from veil.store.database import Database
from veil.store.schema import vault_entries
from veil.store.subject_keys import SubjectKeys
from veil.store.vault import DatabaseVault

WORKER = Path(__file__).with_name("vault_worker.py")
SCOPE = "shared-scope"
POOL = [("EMAIL_ADDRESS", f"user{i}@example.com") for i in range(150)] + [
    ("PHONE_NUMBER", f"+1 555 {i:07d}") for i in range(50)
]


def test_processes_minting_in_one_scope_never_conflict(
    tmp_path: Path, db: Database, db_url: str, keys: SubjectKeys, master_key_text: str
) -> None:
    go = tmp_path / "go"
    workers = []
    for seed in (1, 2):
        config = {
            "db": db_url,
            "master_key": master_key_text,
            "scope": SCOPE,
            "seed": seed,
            "rounds": 1000,
            "go_file": str(go),
            "pool": POOL,
        }
        workers.append(
            subprocess.Popen(
                [sys.executable, str(WORKER), json.dumps(config)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    try:
        for worker in workers:
            assert worker.stdout is not None
            assert worker.stderr is not None
            if worker.stdout.readline().strip() != "ready":
                pytest.fail(f"a worker failed to open the vault: {worker.stderr.read()}")
        go.touch()
        outputs = [worker.communicate(timeout=120) for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.communicate()

    assert [worker.returncode for worker in workers] == [0, 0], [err for _, err in outputs]
    reports = [json.loads(out) for out, _ in outputs]
    observed = [(value, token) for report in reports for value, token in report["observed"]]
    token_by_value: dict[str, set[str]] = {}
    value_by_token: dict[str, set[str]] = {}
    for value, token in observed:
        token_by_value.setdefault(value, set()).add(token)
        value_by_token.setdefault(token, set()).add(value)
    assert [value for value, tokens in token_by_value.items() if len(tokens) > 1] == []
    assert [token for token, values in value_by_token.items() if len(values) > 1] == []
    # The processes were minting at the same time, and both met most of the pool.
    first, second = reports
    assert first["started"] < second["finished"] and second["started"] < first["finished"]
    assert len({v for v, _ in first["observed"]} & {v for v, _ in second["observed"]}) > len(POOL) * 3 // 4

    vault = DatabaseVault(db, keys, ttl_seconds=3600)
    for value, (token,) in token_by_value.items():
        assert vault.value_for(SCOPE, token) == value
    with db.read() as conn:
        rows = conn.execute(sa.select(vault_entries.c.entity_type, vault_entries.c.ordinal)).all()
    assert len(rows) == len(token_by_value)
    for entity_type in ("EMAIL_ADDRESS", "PHONE_NUMBER"):
        ordinals = sorted(ordinal for kind, ordinal in rows if kind == entity_type)
        assert ordinals == list(range(1, len(ordinals) + 1))
