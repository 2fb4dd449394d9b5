"""Many replicas: two real `veil serve` processes on one PostgreSQL database.

A conversation moves between them turn by turn and keeps its tokens; both mint for one
subject at the same time and never give a value two tokens or a token two values. The
upstream is a real server on loopback that keeps every body it received.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from openai import AsyncOpenAI

from databases import database_url
from veil.scope import ScopeResolver
from veil.store.database import Database
from veil.store.keys import EnvKeyProvider
from veil.store.master_key import encode_master_key
from veil.store.schema import subject_keys, vault_entries
from veil.store.subject_keys import SCOPE_SECRET, SubjectKeys
from veil.store.vault import DatabaseVault
from veil_process import RecordingUpstream, VeilProcess, echo_last_user, running, veil_cli

TOKEN = re.compile(r"<([A-Z_]+)_(\d+)>")


class Cluster:
    """Two replicas, the database and master key they share, and the upstream behind them."""

    def __init__(
        self, env: dict[str, str], workdir: Path, upstream: RecordingUpstream, a: str, b: str
    ) -> None:
        self.env = env
        self.workdir = workdir
        self.url = env["VEIL_DATABASE_URL"]
        self.master_key = env["VEIL_MASTER_KEY"]
        self.upstream = upstream
        self.a = a
        self.b = b

    def client(self, replica: str) -> AsyncOpenAI:
        return AsyncOpenAI(api_key="sk-client-key", base_url=replica + "/v1", max_retries=0)

    def scope_of(self, user: str) -> str:
        """The subject the replicas store `user` under (the scope secret lives in the database)."""
        db = Database(self.url)
        try:
            keys = SubjectKeys(db, EnvKeyProvider(self.master_key))
            return ScopeResolver(keys.installation_secret(SCOPE_SECRET), "x-veil-subject").resolve(
                {"user": user}, {}
            )
        finally:
            db.dispose()

    def bodies_with(self, marker: str) -> list[dict[str, Any]]:
        return [body for body in self.upstream.bodies() if marker in str(body["messages"])]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    workdir = tmp_path_factory.mktemp("replicas")
    master_key = encode_master_key(secrets.token_bytes(32))
    with database_url("postgresql", workdir) as url, RecordingUpstream() as upstream:
        env = {
            "VEIL_DATABASE_URL": url,
            "VEIL_MASTER_KEY": master_key,
            "VEIL_UPSTREAM_BASE_URL": upstream.url,
            "VEIL_STORAGE_MODE": "full",
        }
        # Each replica has its own data dir: nothing but the database and the key is shared.
        # Both start at once on an empty schema, so both run the migration together.
        a = VeilProcess(workdir / "a", env)
        b = VeilProcess(workdir / "b", env)
        with running(a, b):
            yield Cluster(env, workdir, upstream, a.url, b.url)


async def _ask(client: AsyncOpenAI, messages: list[dict[str, str]], user: str, *, stream: bool) -> str:
    if stream:
        chunks = await client.chat.completions.create(
            model="m",
            messages=messages,  # type: ignore[arg-type]
            user=user,
            stream=True,
        )
        return "".join([c.choices[0].delta.content or "" async for c in chunks if c.choices])
    done = await client.chat.completions.create(model="m", messages=messages, user=user)  # type: ignore[arg-type]
    return done.choices[0].message.content or ""


async def test_a_conversation_moves_between_replicas_with_its_tokens(cluster: Cluster) -> None:
    user = "conversation-user"
    a, b = cluster.client(cluster.a), cluster.client(cluster.b)
    # Each turn names a value new to the subject before one already known, and turns 2 and 3
    # send only their new message: a replica with a vault of its own would number them
    # differently (turn 2 would give carl 1, turn 3 would give dan 3).
    turns = [
        (a, False, "turn 1: I am ana@example.com, my colleague is carl@example.com"),
        (b, True, "turn 2: write to bob@example.com, not carl@example.com"),
        (a, True, "turn 3: dan@example.com replaces bob@example.com"),
    ]
    try:
        for client, stream, text in turns:
            reply = await _ask(client, [{"role": "user", "content": text}], user, stream=stream)
            assert reply == f"You said: {text}"
        # The model answers with a token this request never carried (as a model keeping the
        # conversation provider-side would): B restores a token only A ever handled.
        cluster.upstream.reply = lambda body: "You wrote to <EMAIL_ADDRESS_4> and <EMAIL_ADDRESS_2>."
        try:
            reply = await _ask(b, [{"role": "user", "content": "turn 4: who?"}], user, stream=True)
        finally:
            cluster.upstream.reply = echo_last_user
        assert reply == "You wrote to dan@example.com and carl@example.com."
    finally:
        await a.close()
        await b.close()

    seen = [body["messages"][-1]["content"] for body in cluster.bodies_with("turn ")]
    assert seen == [
        "turn 1: I am <EMAIL_ADDRESS_1>, my colleague is <EMAIL_ADDRESS_2>",
        "turn 2: write to <EMAIL_ADDRESS_3>, not <EMAIL_ADDRESS_2>",
        "turn 3: <EMAIL_ADDRESS_4> replaces <EMAIL_ADDRESS_3>",
        "turn 4: who?",
    ]


async def test_a_replica_continues_a_resent_history_with_the_same_tokens(cluster: Cluster) -> None:
    user = "history-user"
    a, b = cluster.client(cluster.a), cluster.client(cluster.b)
    history = [{"role": "user", "content": "history 1: I am eve@example.com"}]
    try:
        reply = await _ask(a, history, user, stream=False)
        # Another conversation of the same subject takes ordinal 2 on A, so B can only
        # give fay 3 if it counts in the same vault.
        await _ask(a, [{"role": "user", "content": "other tab: zed@example.com"}], user, stream=False)
        history += [
            {"role": "assistant", "content": reply},
            {"role": "user", "content": "history 2: cc fay@example.com, not eve@example.com"},
        ]
        reply = await _ask(b, history, user, stream=True)
    finally:
        await a.close()
        await b.close()
    assert reply == "You said: history 2: cc fay@example.com, not eve@example.com"
    first, second = cluster.bodies_with("history 1")
    eve, fay = "<EMAIL_ADDRESS_1>", "<EMAIL_ADDRESS_3>"
    assert [m["content"] for m in first["messages"]] == [f"history 1: I am {eve}"]
    assert [m["content"] for m in second["messages"]] == [
        f"history 1: I am {eve}",
        f"You said: history 1: I am {eve}",
        f"history 2: cc {fay}, not {eve}",
    ]


EMAILS = [f"shared{i}@example.com" for i in range(10)]
PHONES = [f"+1 415-555-{i:04d}" for i in range(101, 106)]
REQUESTS = 20


async def test_replicas_minting_for_one_subject_at_once_agree(cluster: Cluster) -> None:
    user = "minting-user"
    rng = random.Random(7)
    # Overlapping draws: every value is in several requests, sent to both replicas at once.
    draws = [rng.sample(EMAILS, 4) + rng.sample(PHONES, 2) for _ in range(REQUESTS)]
    prompts = [f"mint {n}: " + " ; ".join(values) for n, values in enumerate(draws)]
    clients = [cluster.client(cluster.a), cluster.client(cluster.b)]
    try:
        replies = await asyncio.gather(
            *(
                _ask(clients[n % 2], [{"role": "user", "content": prompt}], user, stream=n % 4 < 2)
                for n, prompt in enumerate(prompts)
            )
        )
    finally:
        for client in clients:
            await client.close()
    assert replies == [f"You said: {prompt}" for prompt in prompts]

    token_of: dict[str, set[str]] = {}
    value_of: dict[str, set[str]] = {}
    bodies = cluster.bodies_with("mint ")
    assert len(bodies) == REQUESTS
    for body in bodies:
        head, _, tail = body["messages"][0]["content"].partition(": ")
        tokens = tail.split(" ; ")
        assert all(TOKEN.fullmatch(token) for token in tokens), tail
        for value, token in zip(draws[int(head.removeprefix("mint "))], tokens, strict=True):
            token_of.setdefault(value, set()).add(token)
            value_of.setdefault(token, set()).add(value)
    assert {value: len(tokens) for value, tokens in token_of.items() if len(tokens) > 1} == {}
    assert {token: len(values) for token, values in value_of.items() if len(values) > 1} == {}
    assert set(token_of) == {value for values in draws for value in values}

    # What the database holds: one row per value, ordinals 1..n per type with no gap or
    # repeat, and each token opens to its value outside either replica.
    scope = cluster.scope_of(user)
    db = Database(cluster.url)
    try:
        with db.read() as conn:
            rows = conn.execute(
                sa.select(vault_entries.c.token, vault_entries.c.entity_type, vault_entries.c.ordinal).where(
                    vault_entries.c.subject == scope
                )
            ).all()
        assert sorted(row.token for row in rows) == sorted(value_of)
        for entity_type, pool in (("EMAIL_ADDRESS", EMAILS), ("PHONE_NUMBER", PHONES)):
            ordinals = sorted(row.ordinal for row in rows if row.entity_type == entity_type)
            assert ordinals == list(range(1, len(pool) + 1))
        vault = DatabaseVault(db, SubjectKeys(db, EnvKeyProvider(cluster.master_key)), ttl_seconds=3600)
        for value, (token,) in token_of.items():
            assert vault.value_for(scope, token) == value
    finally:
        db.dispose()


async def test_after_an_erasure_elsewhere_a_replica_seals_new_data_under_the_new_key(
    cluster: Cluster,
) -> None:
    user = "erased-user"
    b = cluster.client(cluster.b)
    try:
        # B has served this person, so it holds their data key in memory.
        assert await _ask(b, [{"role": "user", "content": "erase 1: ivy@example.com"}], user, stream=False)
        # Erased by another process (the CLI here; another replica's admin API is the same).
        erased = veil_cli(cluster.workdir / "cli", cluster.env, "subjects", "erase", user, "--yes")
        assert erased.returncode == 0, erased.stderr[-2000:]
        assert json.loads(erased.stdout)["data_key_destroyed"] is True
        # Within the minute B may still know the old mapping; what it stores now must not be
        # sealed under the key that was just destroyed.
        for text in ("erase 2: ivy@example.com", "erase 3: jay@example.com"):
            reply = await _ask(b, [{"role": "user", "content": text}], user, stream=True)
            assert reply == f"You said: {text}"
    finally:
        await b.close()

    exported = veil_cli(cluster.workdir / "cli", cluster.env, "subjects", "export", user)
    assert exported.returncode == 0, exported.stderr[-2000:]
    document = json.loads(exported.stdout)
    assert [t["request"]["messages"][0]["content"] for t in document["transcripts"]] == [
        "erase 2: ivy@example.com",
        "erase 3: jay@example.com",
    ]


def test_a_lock_held_elsewhere_stalls_only_that_subjects_request(cluster: Cluster) -> None:
    user = "locked-user"
    url = cluster.a + "/v1/chat/completions"
    auth = {"authorization": "Bearer sk-client-key"}

    def ask(content: str) -> httpx.Response:
        body = {"model": "m", "user": user, "messages": [{"role": "user", "content": content}]}
        return httpx.post(url, json=body, headers=auth, timeout=30)

    assert ask("locked 1: gus@example.com").status_code == 200  # the subject now has a key row
    scope = cluster.scope_of(user)
    answers: list[int] = []
    db = Database(cluster.url)
    try:
        with db.engine.connect() as conn, conn.begin():
            # Another replica's transaction holding this subject's key row, as minting does.
            conn.execute(
                sa.select(subject_keys.c.subject).where(subject_keys.c.subject == scope).with_for_update()
            )
            waiting = threading.Thread(
                target=lambda: answers.append(ask("locked 2: hal@example.com").status_code)
            )
            waiting.start()
            _wait_for_a_lock_wait(conn)
            started = time.monotonic()
            try:
                healthy = httpx.get(cluster.a + "/healthz", timeout=2).status_code == 200
            except httpx.TimeoutException:
                healthy = False
            stalled_for = time.monotonic() - started
        waiting.join(timeout=30)
    finally:
        db.dispose()
    assert answers == [200]  # once the lock is released, the subject's request goes through
    assert healthy and stalled_for < 0.5


def _wait_for_a_lock_wait(conn: sa.Connection) -> None:
    deadline = time.monotonic() + 10
    # A session of the replica is blocked by this one: its request is waiting for the lock.
    query = sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))"
    )
    while conn.execute(query).scalar_one() == 0:
        assert time.monotonic() < deadline, "the request never waited for the lock"
        time.sleep(0.02)
