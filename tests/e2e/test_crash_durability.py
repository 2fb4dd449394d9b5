"""Durability: a real `veil serve` killed with SIGKILL under load loses nothing it acknowledged.

What is durable when a request returns (docs/scaling.md): the request's record and, in
mode `full`, its sealed transcript are committed before the reply is released (a whole
reply) or before the last event of a stream is sent; every token the request minted was
committed before the request went upstream. So every request whose 200 reply arrived in
full (for a stream: its `[DONE]`) has its rows after the crash, the database opens
cleanly, and a restarted server continues the conversation with the same tokens.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from openai import OpenAI

from databases import BACKENDS, database_url
from veil.store.cipher import length_prefixed
from veil.store.database import Database
from veil.store.keys import EnvKeyProvider
from veil.store.master_key import encode_master_key
from veil.store.schema import request_records, transcripts
from veil.store.subject_keys import SubjectKeys
from veil.store.vault import DatabaseVault
from veil_process import RecordingUpstream, VeilProcess, echo_last_user, running

WORKERS = 8
# The server is killed once the load has run this long and this many replies were acknowledged.
MIN_LOAD_SECONDS = 1.5
MIN_ACKNOWLEDGED = 40
LOAD = re.compile(r"load (\d+-\d+): write to (\S+) or call (.+)")


@dataclass(frozen=True)
class Acknowledged:
    """A request whose whole 200 reply reached the client."""

    request_id: str
    body: dict[str, Any]
    reply: str


class Load:
    """WORKERS clients sending requests (half streamed) until the server stops answering."""

    def __init__(self, url: str) -> None:
        self._url = url + "/v1/chat/completions"
        self._lock = threading.Lock()
        self.acknowledged: list[Acknowledged] = []
        self.refused: list[str] = []  # a non-200 answer while the server was up: a failure
        self.cut = 0  # workers whose request failed because the server was gone
        self._threads = [threading.Thread(target=self._work, args=(w,), daemon=True) for w in range(WORKERS)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def join(self) -> None:
        for thread in self._threads:
            thread.join(timeout=20)
        assert not any(thread.is_alive() for thread in self._threads), "a load worker hung"

    def count(self) -> int:
        with self._lock:
            return len(self.acknowledged)

    def _work(self, worker: int) -> None:
        with httpx.Client(timeout=20, headers={"authorization": "Bearer sk-client-key"}) as http:
            for n in range(10_000):
                content = (
                    f"load {worker}-{n}: write to w{worker}n{n % 5}@example.com"
                    f" or call +1 415-555-{worker:02d}{n % 7:02d}"
                )
                body = {
                    "model": "m",
                    "user": f"load-{worker % 3}",
                    "stream": n % 2 == 0,
                    "messages": [{"role": "user", "content": content}],
                }
                try:
                    done = self._send(http, body)
                except httpx.TransportError:
                    with self._lock:
                        self.cut += 1
                    return
                with self._lock:
                    if isinstance(done, Acknowledged):
                        self.acknowledged.append(done)
                    else:
                        self.refused.append(done)

    def _send(self, http: httpx.Client, body: dict[str, Any]) -> Acknowledged | str:
        if not body["stream"]:
            response = http.post(self._url, json=body)
            if response.status_code != 200:
                return f"{response.status_code} {response.text[:200]}"
            reply = response.json()["choices"][0]["message"]["content"]
            return Acknowledged(response.headers["x-request-id"], body, reply)
        with http.stream("POST", self._url, json=body) as response:
            if response.status_code != 200:
                return f"{response.status_code} {response.read()[:200]!r}"
            pieces, finished = [], False
            for line in response.iter_lines():
                if line == "data: [DONE]":
                    finished = True
                elif line.startswith("data: "):
                    event = json.loads(line.removeprefix("data: "))
                    if "error" in event:
                        return f"stream error {event['error'].get('code')}"
                    pieces += [c["delta"].get("content") or "" for c in event["choices"]]
            if not finished:
                return "stream ended without [DONE]"
            return Acknowledged(response.headers["x-request-id"], body, "".join(pieces))


@pytest.mark.parametrize("backend", BACKENDS)
def test_sigkill_under_load_loses_nothing_acknowledged(backend: str, tmp_path: Path) -> None:
    master_key = encode_master_key(secrets.token_bytes(32))
    with database_url(backend, tmp_path) as url, RecordingUpstream() as upstream:
        env = {
            "VEIL_DATABASE_URL": url,
            "VEIL_MASTER_KEY": master_key,
            "VEIL_UPSTREAM_BASE_URL": upstream.url,
            "VEIL_DATA_DIR": str(tmp_path / "data"),
            "VEIL_STORAGE_MODE": "full",
        }
        server = VeilProcess(tmp_path / "first", env)
        load = Load(server.url)
        try:
            server.start().wait_ready()
            with _sdk(server) as client:
                first = _ask(client, [{"role": "user", "content": "crash 1: I am ana@example.com"}])
            assert first == "You said: crash 1: I am ana@example.com"
            load.start()
            started = time.monotonic()
            while time.monotonic() - started < MIN_LOAD_SECONDS or load.count() < MIN_ACKNOWLEDGED:
                assert time.monotonic() - started < 20, f"load too slow: {load.count()} acknowledged"
                time.sleep(0.02)
            assert server.kill() == -9
        finally:
            server.stop()
            load.join()

        assert load.refused == []
        assert load.cut == WORKERS, "the server must die while every client is sending"
        acknowledged = {ack.request_id: ack for ack in load.acknowledged}
        assert len(acknowledged) >= MIN_ACKNOWLEDGED
        for ack in acknowledged.values():
            assert ack.reply == f"You said: {ack.body['messages'][0]['content']}"

        if backend == "sqlite":
            path = Path(sa.make_url(url).database or "")
            # Killed with connections open: the WAL is still there and must be recovered.
            assert path.with_name(path.name + "-wal").exists()
            with contextlib.closing(sqlite3.connect(path)) as conn:
                assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        db = Database(url)
        try:
            db.migrate()
            assert db.revision() is not None
            _assert_kept(db, master_key, acknowledged, upstream.bodies())
        finally:
            db.dispose()

        # A new process, empty caches, the same database and key: the conversation goes on.
        again = VeilProcess(tmp_path / "second", env)
        with running(again), _sdk(again) as client:
            history = [
                {"role": "user", "content": "crash 1: I am ana@example.com"},
                {"role": "assistant", "content": first},
                {"role": "user", "content": "crash 2: cc bob@example.com, not ana@example.com"},
            ]
            assert _ask(client, history) == "You said: crash 2: cc bob@example.com, not ana@example.com"
            upstream.reply = lambda body: "You are <EMAIL_ADDRESS_1>."
            try:
                assert _ask(client, [{"role": "user", "content": "crash 3: who am I?"}]) == (
                    "You are ana@example.com."
                )
            finally:
                upstream.reply = echo_last_user
        seen = [body["messages"][-1]["content"] for body in upstream.bodies() if "crash " in str(body)]
        assert seen == [
            "crash 1: I am <EMAIL_ADDRESS_1>",
            "crash 2: cc <EMAIL_ADDRESS_2>, not <EMAIL_ADDRESS_1>",
            "crash 3: who am I?",
        ]


def _assert_kept(
    db: Database, master_key: str, acknowledged: dict[str, Acknowledged], bodies: list[dict[str, Any]]
) -> None:
    """Every acknowledged request has its record, its transcript and its tokens."""
    with db.read() as conn:
        records = {
            row.request_id: row
            for row in conn.execute(
                sa.select(request_records).where(request_records.c.request_id.in_(list(acknowledged)))
            )
        }
        sealed = set(
            conn.execute(
                sa.select(transcripts.c.request_id).where(transcripts.c.request_id.in_(list(acknowledged)))
            ).scalars()
        )
    assert sorted(set(acknowledged) - set(records)) == []
    assert sorted(set(acknowledged) - sealed) == []
    for request_id, ack in acknowledged.items():
        record = records[request_id]
        assert (record.status, record.stream, record.storage_mode) == (200, ack.body["stream"], "full")

    # Each transcript opens under its subject's data key, bound to its request id.
    keys = SubjectKeys(db, EnvKeyProvider(master_key))
    with db.read() as conn:
        rows = conn.execute(
            sa.select(transcripts).where(transcripts.c.request_id.in_(list(acknowledged)))
        ).all()
        for row in rows:
            cipher = keys.cipher(conn, row.subject, create=False)
            assert cipher is not None and row.kind == "full"
            aad = length_prefixed("veil/transcript", row.request_id, row.subject, row.kind)
            transcript = json.loads(cipher.open_bytes(row.sealed, aad))
            ack = acknowledged[row.request_id]
            assert transcript["request"]["messages"] == ack.body["messages"]
            assert _transcript_reply(transcript["response"]) == ack.reply

    # The tokens the upstream saw for each acknowledged request open to the values sent.
    upstream_seen = {
        match[1]: match for body in bodies if (match := LOAD.fullmatch(body["messages"][0]["content"]))
    }
    vault = DatabaseVault(db, keys, ttl_seconds=3600)
    for request_id, ack in acknowledged.items():
        sent = LOAD.fullmatch(ack.body["messages"][0]["content"])
        assert sent is not None
        seen = upstream_seen[sent[1]]
        scope = records[request_id].subject
        assert [vault.value_for(scope, seen[2]), vault.value_for(scope, seen[3])] == [sent[2], sent[3]]


def _transcript_reply(response: Any) -> str:
    if isinstance(response, dict):  # a whole reply: the document the client got
        return str(response["choices"][0]["message"]["content"])
    events = [json.loads(data) for data in response if data != "[DONE]"]
    return "".join(c["delta"].get("content") or "" for event in events for c in event["choices"])


@contextlib.contextmanager
def _sdk(server: VeilProcess) -> Any:
    with OpenAI(api_key="sk-client-key", base_url=server.url + "/v1", max_retries=0) as client:
        yield client


def _ask(client: OpenAI, messages: list[dict[str, str]]) -> str:
    done = client.chat.completions.create(model="m", messages=messages, user="survivor")  # type: ignore[arg-type]
    return done.choices[0].message.content or ""
