"""Issue 4's figures: what storing each request costs, per storage mode, side by side.

Every server runs the rules-only tier, so detection is the same small cost everywhere and
the differences are the store's. `none` is the baseline each mode is compared with.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import sqlalchemy as sa
from rich.console import Console

from bench import latency
from bench.corpus import pii_prompt
from bench.processes import VeilServer
from bench.report import Section
from bench.tiers import RULES, SERVER_ENV
from veil.store.master_key import encode_master_key

METADATA_TARGET_MS = 1.0
FULL_TARGET_MS = 3.0
POSTGRES_URL = os.environ.get("VEIL_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
_TARGETS = {"metadata": METADATA_TARGET_MS, "full": FULL_TARGET_MS}


def storage_section(console: Console, http: httpx.Client, upstream_url: str, scale: float) -> Section:
    count, warmup = max(20, int(300 * scale)), max(5, int(30 * scale))
    section = Section(
        f"Issue 4: storage cost per request ({count} requests to each server, interleaved, "
        f"after {warmup} warm-up)",
        [
            "database",
            "storage mode",
            "Veil p50",
            "added p50 vs none",
            "Veil p99",
            "added p99 vs none",
            "target",
        ],
    )
    with contextlib.ExitStack() as stack:
        servers: dict[str, VeilServer] = {}
        backends = [("SQLite", None)]
        postgres = stack.enter_context(_postgres_schema())
        if postgres is not None:
            backends.append(("PostgreSQL", postgres))
        else:
            console.print("[yellow]PostgreSQL not reachable: SQLite only[/yellow]")
        # Servers sharing one database are replicas of one installation: one master key.
        master_key = encode_master_key(secrets.token_bytes(32))
        for database, url in backends:
            for mode in ("none", "metadata", "pseudonymized", "full"):
                env = {**SERVER_ENV[RULES], "VEIL_STORAGE_MODE": mode, "VEIL_MASTER_KEY": master_key}
                if url is not None:
                    env["VEIL_DATABASE_URL"] = url
                servers[f"{database}/{mode}"] = stack.enter_context(VeilServer(upstream_url, env))
        targets = {latency.DIRECT: upstream_url, **{name: s.url for name, s in servers.items()}}
        prompt = pii_prompt(1024)
        console.print(f"storage: {len(servers)} servers, 1 KB prompt")
        samples = latency.requests(
            http, targets, lambda i: latency.chat_body(prompt), count=count, warmup=warmup
        )
    p = latency.percentile
    for database, _ in backends:
        base = samples.seconds[f"{database}/none"]
        for mode in ("none", "metadata", "pseudonymized", "full"):
            veil = samples.seconds[f"{database}/{mode}"]
            added50, added99 = p(veil, 50) - p(base, 50), p(veil, 99) - p(base, 99)
            target = ""
            if mode in _TARGETS:
                verdict = "met" if added50 * 1000 <= _TARGETS[mode] else "MISSED"
                target = f"≤ {_TARGETS[mode]:g} ms p50: {verdict}"
            section.rows.append(
                [
                    database if mode == "none" else "",
                    mode,
                    _ms(p(veil, 50)),
                    "—" if mode == "none" else _ms(added50),
                    _ms(p(veil, 99)),
                    "—" if mode == "none" else _ms(added99),
                    target,
                ]
            )
    section.note = (
        "Each server is `veil serve` in the rules-only tier with `VEIL_STORAGE_MODE` set; all get every "
        "request in the same round, in rotating order. `none` stores no record (the vault still stores its "
        "token mappings); `metadata` commits one row per request (time, subject pseudonym, model, token and "
        "entity counts) before the reply is released; `pseudonymized` and `full` also seal the transcript "
        "with the subject's data key (AES-256-GCM); every mode, `none` included, appends the request's "
        "audit entry. Commits survive a crash of Veil (SQLite: WAL, synchronous=NORMAL; PostgreSQL: "
        "synchronous_commit=off for Veil's sessions), on the local PostgreSQL server in a fresh schema."
    )
    return section


@contextlib.contextmanager
def _postgres_schema() -> Iterator[str | None]:
    schema = f"veil_bench_{secrets.token_hex(4)}"
    try:
        admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.SQLAlchemyError:
        yield None
        return
    try:
        yield f"{POSTGRES_URL}?options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"
