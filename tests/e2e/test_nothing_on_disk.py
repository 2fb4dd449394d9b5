"""Canary values through every endpoint with storage `full`: none of them may be found in
plaintext in the database's files, a PostgreSQL dump, the logs, stderr or temp files.

Every place is searched for each canary (and its telling parts) in several encodings:
UTF-8 in any letter case, JSON escapes, percent-encoding, UTF-16, hex (how PostgreSQL
dumps bytea), Python's bytes repr (how a log line shows a parameter), and base64 at each
alignment. A second test plants canaries in clear in each place to show the search finds
them there.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from openai import AsyncOpenAI, BadRequestError
from starlette.applications import Starlette

from databases import BACKENDS, database_url
from fake_upstream import FakeUpstream, Script
from veil.store.schema import request_records, transcripts

CANARIES = {
    "email": "mirabel.quist@canary-mail.example",
    "card": "4539 1488 0343 6467",
    "phone": "(628) 555-3914",
    "person": "Zofia Brzęczyszczykiewicz",
    "api_key": "sk-proj-Cq7Wv2Lr9Tz4Nb8Xk1Hs6Jd3Mf5Pg0Yc2Va7Qe9Ru4",
    # Not personal data to detect, but an id Veil only keeps hashed (as the subject).
    "end_user": "enduser-canary-7d41f0",
}
# The bearer token: the only canary a GET /v1/models can carry. Veil keeps it hashed (the scope).
CLIENT_KEY = "sk-client-canary-R8mT2vQ9wL4xN6pZ"
# Parts that would betray a value on their own.
FRAGMENTS = {
    "email": ("mirabel.quist",),
    "card": ("4539148803436467",),
    "phone": ("6285553914",),
    "person": ("Brzęczyszczykiewicz",),
    "api_key": ("Cq7Wv2Lr9Tz4Nb8Xk1Hs6Jd3Mf5Pg0Yc2Va7Qe9Ru4",),
    "client_key": ("R8mT2vQ9wL4xN6pZ",),
}
SENTENCE = (
    f"{CANARIES['person']} ({CANARIES['email']}, {CANARIES['phone']}) paid with {CANARIES['card']};"
    f" her key is {CANARIES['api_key']}."
)
TOKEN = re.compile(r"<[A-Z_]+_\d+>")
# The client's own SDK logs each request it sends, raw, at DEBUG: that is the caller's
# process, not Veil's.
CLIENT_LOGGERS = ("openai",)


def encodings(value: str) -> dict[str, bytes]:
    """The ways `value` could sit in a file or a log line, by name."""
    utf8 = value.encode()
    found = {
        "utf-8": utf8,
        "json": json.dumps(value)[1:-1].encode(),
        "percent": urllib.parse.quote(value, safe="").encode(),
        "percent-plus": urllib.parse.quote_plus(value).encode(),
        "utf-16-le": value.encode("utf-16-le"),
        "utf-16-be": value.encode("utf-16-be"),
        "hex": utf8.hex().encode(),
        "bytes-repr": repr(utf8)[2:-1].encode(),
    }
    for offset in range(3):
        # Only the characters that depend on `value` alone, whatever precedes it.
        encoded = base64.b64encode(b"\0" * offset + utf8)
        found[f"base64+{offset}"] = encoded[-(-offset * 8 // 6) : (offset + len(utf8)) * 8 // 6]
    return found


def needles() -> list[tuple[str, str, bytes]]:
    values = {**CANARIES, "client_key": CLIENT_KEY}
    return [
        (name, form, needle)
        for name, value in values.items()
        for text in (value, *FRAGMENTS.get(name, ()))
        for form, needle in encodings(text).items()
    ]


NEEDLES = needles()


def canaries_in(blob: bytes) -> set[str]:
    """Which canaries `blob` holds, in any encoding; letter case aside, except for base64."""
    lowered = blob.lower()
    return {
        name
        for name, form, needle in NEEDLES
        if needle in blob or (not form.startswith("base64") and needle.lower() in lowered)
    }


def files_under(root: Path) -> dict[str, bytes]:
    return {
        str(path): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }


def pg_dump(url: str) -> bytes:
    """The plain-text dump of the test's own schema, as an operator's backup would hold it."""
    parsed = sa.make_url(url)
    schema = str(parsed.query["options"]).removeprefix("-csearch_path=")
    command = [
        shutil.which("pg_dump") or "/usr/bin/pg_dump",
        "--no-password",
        f"--host={parsed.host or '127.0.0.1'}",
        f"--port={parsed.port or 5432}",
        f"--username={parsed.username}",
        f"--dbname={parsed.database}",
        f"--schema={schema}",
    ]
    dumped = subprocess.run(command, capture_output=True, check=True, timeout=60)
    assert b"CREATE TABLE" in dumped.stdout and b"transcripts" in dumped.stdout, "the dump holds the store"
    return dumped.stdout


class Witness:
    """Everything a test's Veil could have written to: its database, its files, its log
    records and stderr, and a temp directory of its own (so that every file in it is one
    this test made)."""

    def __init__(
        self,
        backend: str,
        url: str,
        root: Path,
        caplog: pytest.LogCaptureFixture,
        capfd: pytest.CaptureFixture[str],
    ) -> None:
        self.backend = backend
        self.url = url
        self.root = root
        self._caplog = caplog
        self._capfd = capfd
        self._stderr = ""

    def database(self) -> dict[str, bytes]:
        if self.backend == "postgresql":
            return {"pg_dump": pg_dump(self.url)}
        # The main file, its -wal and its -shm.
        sqlite = Path(sa.make_url(self.url).database or "")
        return {f"sqlite:{p.name}": p.read_bytes() for p in sqlite.parent.glob(f"{sqlite.name}*")}

    def logs(self) -> bytes:
        formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
        records = self._caplog.get_records("setup") + self._caplog.records  # migrations are in setup
        records = [r for r in records if not r.name.startswith(CLIENT_LOGGERS)]
        return "\n".join(formatter.format(r) for r in records).encode()

    def stderr(self) -> bytes:
        """Everything written to file descriptor 2 so far (by Python or by C libraries)."""
        self._stderr += self._capfd.readouterr().err
        return self._stderr.encode()

    def everything(self) -> dict[str, bytes]:
        return {
            **self.database(),
            **{f"file:{name}": blob for name, blob in files_under(self.root).items()},
            "logs": self.logs(),
            "stderr": self.stderr(),
        }


class StderrHandler(logging.Handler):
    """A server's console log. Writes to whatever `sys.stderr` is when a record comes:
    pytest swaps it between a test's phases."""

    def emit(self, record: logging.LogRecord) -> None:
        sys.stderr.write(self.format(record) + "\n")


@pytest.fixture(params=BACKENDS)
def witness(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Witness]:
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))  # SQLite's temp files, and child processes'
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    caplog.set_level(logging.DEBUG)
    # Loggers with a level of their own (SQLAlchemy's is WARNING) are opened up too: at
    # DEBUG SQLAlchemy logs every statement's parameters and every row read.
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and logger.level > logging.DEBUG:
            caplog.set_level(logging.DEBUG, logger=name)
    # Full records, tracebacks included.
    console = StderrHandler()
    console.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    console.addFilter(lambda record: not record.name.startswith(CLIENT_LOGGERS))
    logging.getLogger().addHandler(console)
    with database_url(request.param, tmp_path) as url:
        try:
            yield Witness(request.param, url, tmp_path, caplog, capfd)
        finally:
            logging.getLogger().removeHandler(console)


@pytest.fixture
def open_full_app(make_app: Callable[..., Starlette], witness: Witness) -> Iterator[Starlette]:
    app = make_app(database_url=witness.url, storage_mode="full")
    yield app
    app.state.database.dispose()


def client_of(app: Starlette) -> AsyncOpenAI:
    return AsyncOpenAI(
        api_key=CLIENT_KEY,
        base_url="http://veil.test/v1",
        http_client=httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://veil.test"),
        max_retries=0,
    )


def tokens_back(body: dict[str, Any]) -> Script:
    """The provider answers with every token it was given, in its text and a tool call."""
    tokens = sorted(set(TOKEN.findall(json.dumps(body))))
    return Script(
        contents=[f"Done for {' '.join(tokens)}."],
        tool_calls=[{"name": "send_email", "arguments": json.dumps({"to": tokens})}],
    )


def chat_request() -> dict[str, Any]:
    """A conversation with a canary in every kind of place a request holds text."""
    tool_arguments = json.dumps({"email": CANARIES["email"], "card": CANARIES["card"]})
    return {
        "model": "gpt-test",
        "user": CANARIES["end_user"],
        "messages": [
            {"role": "system", "content": f"You assist {CANARIES['person']}."},
            {"role": "user", "content": SENTENCE},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "lookup", "arguments": tool_arguments},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": f"Found {SENTENCE}"},
            {"role": "user", "content": f"Now write to {CANARIES['email']}."},
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "send_email",
                    "description": f"Sends mail on behalf of {CANARIES['person']}.",
                    "parameters": {
                        "type": "object",
                        "properties": {"to": {"type": "string", "description": f"e.g. {CANARIES['email']}"}},
                    },
                },
            }
        ],
        "extra_body": {"veil_test_unknown": {"note": SENTENCE, "list": [CANARIES["phone"]]}},
    }


async def send_canaries(app: Starlette, upstream: FakeUpstream) -> list[str]:
    """Every endpoint, whole and streamed; what the client got back, as text."""
    upstream.reply = tokens_back
    received = []
    async with client_of(app) as client:
        models = await client.models.list()
        received.append(models.model_dump_json())
        reply = await client.chat.completions.create(**chat_request())
        received.append(reply.model_dump_json())
        stream = await client.chat.completions.create(
            **chat_request(), stream=True, stream_options={"include_usage": True}
        )
        received.extend([chunk.model_dump_json() async for chunk in stream])
        # An upstream error quoting the request back: restored for the client, and stored.
        upstream.reply = lambda body: Script(status=400, error={"message": json.dumps(body)})
        with pytest.raises(BadRequestError) as refused:
            await client.chat.completions.create(**chat_request())
        received.append(refused.value.response.text)
    return received


def stored_transcripts(app: Starlette) -> list[dict[str, Any]]:
    with app.state.database.read() as conn:
        subjects = set(conn.execute(sa.select(request_records.c.subject)).scalars())
    return [t for subject in sorted(subjects) for t in app.state.records.transcripts_of(subject)]


def leaks(sources: dict[str, bytes]) -> dict[str, set[str]]:
    return {where: found for where, blob in sources.items() if (found := canaries_in(blob))}


async def test_no_canary_is_kept_in_clear_anywhere(
    open_full_app: Starlette, upstream: FakeUpstream, witness: Witness
) -> None:
    app = open_full_app
    received = await send_canaries(app, upstream)

    # The values made the whole trip and were stored: the search can see them when opened.
    content = set(CANARIES) - {"end_user"}
    assert content <= canaries_in(received[1].encode())
    assert content <= canaries_in("".join(received[2:-1]).encode())
    opened = stored_transcripts(app)
    assert len(opened) == 3
    for ascii_only in (True, False):
        assert canaries_in(json.dumps(opened, ensure_ascii=ascii_only).encode()) == set(CANARIES)
    assert len(upstream.bodies) == 3
    assert all(TOKEN.search(json.dumps(body)) for body in upstream.bodies)

    # Before the database is closed, with SQLite's WAL not yet checkpointed; then after.
    while_open = witness.everything()
    if witness.backend == "sqlite":
        assert while_open["sqlite:veil.db-wal"], "the WAL holds this test's writes"
    app.state.database.dispose()
    after_close = witness.everything()
    for log in (while_open["logs"], while_open["stderr"]):
        assert b"INSERT INTO transcripts" in log, "statements and their parameters were logged"
        assert b"veil.proxy INFO" in log

    assert leaks(while_open) == {}
    assert leaks(after_close) == {}


async def test_the_search_finds_canaries_kept_in_clear(open_full_app: Starlette, witness: Witness) -> None:
    app = open_full_app
    with app.state.database.write() as conn:
        conn.execute(
            sa.insert(request_records).values(
                request_id="planted",
                subject="key:planted",
                created_at=0.0,
                endpoint="chat_completions",
                model=CANARIES["email"],
                status=200,
                stream=False,
                entities={},
                storage_mode="full",
            )
        )
        conn.execute(
            sa.insert(transcripts).values(
                request_id="planted",
                subject="key:planted",
                kind="full",
                sealed=CANARIES["person"].encode(),
                created_at=0.0,
            )
        )
    logging.getLogger("veil.planted").debug("card %s", CANARIES["card"])
    os.write(2, f"key {base64.b64encode(CANARIES['api_key'].encode()).decode()}\n".encode())
    with tempfile.NamedTemporaryFile(delete=False, suffix=".tmp") as temp:
        temp.write(CANARIES["phone"].encode("utf-16"))

    sources = witness.everything()
    found_in_database = set().union(*(canaries_in(blob) for blob in witness.database().values()))
    assert {"email", "person"} <= found_in_database
    # The planted rows' parameters are logged too.
    assert {"card", "email"} <= canaries_in(sources["logs"])
    assert {"card", "email", "api_key"} <= canaries_in(sources["stderr"])
    assert canaries_in(sources[f"file:{temp.name}"]) == {"phone"}
    assert Path(temp.name).parent == witness.root / "tmp"
