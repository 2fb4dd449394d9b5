from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from databases import BACKENDS, database_url
from veil.store.audit import AuditLog
from veil.store.database import Database
from veil.store.keys import EnvKeyProvider
from veil.store.master_key import encode_master_key
from veil.store.subject_keys import SubjectKeys


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture
def master_key_text() -> str:
    return encode_master_key(secrets.token_bytes(32))


@pytest.fixture
def keys(db: Database, master_key_text: str) -> SubjectKeys:
    return SubjectKeys(db, EnvKeyProvider(master_key_text))


@pytest.fixture
def audit(db: Database) -> AuditLog:
    return AuditLog(db, secrets.token_bytes(32))
