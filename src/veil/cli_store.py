"""The `veil` commands that open the store: purge, keys (virtual keys and the master key),
subjects (a person's data and consent) and audit. Each opens the database the way
`veil serve` does, and reports a store it cannot use with exit code 2."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from veil.config import Settings

if TYPE_CHECKING:
    from veil.app import Store

keys_cli = typer.Typer(
    no_args_is_help=True,
    help="Virtual API keys for tenants (create, list, revoke) and the master key (generate, rotate).",
)
subjects_cli = typer.Typer(
    no_args_is_help=True, help="One person's data: export it, erase it, see or change their consent."
)
audit_cli = typer.Typer(no_args_is_help=True, help="The tamper-evident audit log.")
UserId = Annotated[str, typer.Argument(help="The app's id for the person: what it sends as `user`.")]


def purge(
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
) -> None:
    """Delete what has outlived its retention now (the server also does this on a schedule)."""
    from veil.app import retention
    from veil.store.retention import purge as run_purge

    settings = Settings()
    with _store("purge") as store:
        report = run_purge(store.db, retention(settings))
        counts = {"transcripts": report.transcripts, "metadata": report.metadata, "vault": report.vault}
        store.audit.record("purge", None, {"by": "cli", "removed": counts})
    if as_json:
        typer.echo(json.dumps({"removed": counts}))
        return
    typer.echo("removed " + ", ".join(f"{name}={count}" for name, count in counts.items()))


@keys_cli.command("create")
def keys_create(
    tenant: Annotated[str, typer.Option("--tenant", help="The tenant the key belongs to.")],
) -> None:
    """Make a virtual API key for TENANT. The key is printed once, as the last line; only a
    salted hash of it is kept. Once any key exists, every request needs a valid one."""
    from veil.store.virtual_keys import VirtualKeys

    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", tenant):
        typer.echo("veil keys create: a tenant name is lowercase letters, digits, - and _", err=True)
        raise typer.Exit(2)
    with _store("keys create") as store:
        info, key = VirtualKeys(store.db).create(tenant)
        store.audit.record("key_created", None, {"by": "cli", "key_id": info.key_id, "tenant": tenant})
    typer.echo(f"key {info.key_id} for tenant {tenant} (shown once; store it now):")
    typer.echo(key)


@keys_cli.command("list")
def keys_list() -> None:
    """The virtual keys: id, tenant, when made, whether revoked. Never the keys themselves."""
    from veil.store.virtual_keys import VirtualKeys

    with _store("keys list") as store:
        infos = VirtualKeys(store.db).list()
    table = Table("key id", "tenant", "created", "revoked")
    for info in infos:
        table.add_row(info.key_id, info.tenant, _when(info.created_at), _when(info.revoked_at))
    Console().print(table)


@keys_cli.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key id `veil keys list` shows.")]) -> None:
    """Revoke a virtual key: requests with it get 401 (on other replicas within 30 s)."""
    from veil.store.virtual_keys import VirtualKeys

    with _store("keys revoke") as store:
        if not VirtualKeys(store.db).revoke(key_id):
            typer.echo(f"veil keys revoke: no active key {key_id}", err=True)
            raise typer.Exit(1)
        store.audit.record("key_revoked", None, {"by": "cli", "key_id": key_id})
    typer.echo(f"revoked {key_id}")


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@keys_cli.command("generate")
def keys_generate() -> None:
    """Print a new random master key (base64), for VEIL_MASTER_KEY."""
    import secrets

    from veil.store.master_key import KEY_BYTES, encode_master_key

    typer.echo(encode_master_key(secrets.token_bytes(KEY_BYTES)))


@keys_cli.command("rotate")
def keys_rotate() -> None:
    """Re-wrap every data key under a new master key; data is not re-encrypted.

    With the key file: makes a new active key (the old one is kept in retired-keys/),
    unless an earlier rotation was interrupted, which this run then finishes. With
    VEIL_MASTER_KEY: set it to the new key and VEIL_RETIRED_MASTER_KEYS to the old one
    first. Safe beside running servers, safe to interrupt and run again.
    """
    from veil.app import build_key_provider, open_database
    from veil.store.audit import AuditLog
    from veil.store.keys import FileKeyProvider
    from veil.store.rotation import pending, rewrap_all
    from veil.store.subject_keys import AUDIT_SECRET, SubjectKeys

    settings = Settings()
    with _store_errors("keys rotate"):
        provider = build_key_provider(settings)
        db = open_database(settings)
        try:
            if pending(db, provider) == 0:
                if not isinstance(provider, FileKeyProvider):
                    typer.echo(
                        f"everything is already wrapped under the active key {provider.active().key_id};"
                        " to rotate, set VEIL_MASTER_KEY to a new key (`veil keys generate`) and"
                        " VEIL_RETIRED_MASTER_KEYS to the old one, then run this again"
                    )
                    return
                old = provider.active().key_id
                new = provider.rotate().key_id
                typer.echo(f"new master key {new} is active; {old} is kept in retired-keys/")
            report = rewrap_all(db, provider)
            signing_key = SubjectKeys(db, provider).installation_secret(AUDIT_SECRET)
            AuditLog(db, signing_key).record(
                "key_rotation",
                None,
                {"by": "cli", "active_key_id": report.active_key_id, "rewrapped": report.rewrapped},
            )
        finally:
            db.dispose()
    typer.echo(
        f"re-wrapped {report.rewrapped} keys under {report.active_key_id}; {report.remaining} remaining"
    )
    if report.remaining:
        raise typer.Exit(1)


@subjects_cli.command("export")
def subjects_export(user: UserId) -> None:
    """Print everything held about a person as one JSON document (GDPR Art. 15/20)."""
    with _store("subjects export") as store:
        document = store.subjects.export(store.scopes.subject_scope(user), by="cli")
    typer.echo(json.dumps(document, indent=2, ensure_ascii=False))


@subjects_cli.command("erase")
def subjects_erase(
    user: UserId,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase a person (GDPR Art. 17): destroy their data key, delete their rows; print the receipt."""
    if not yes:
        typer.confirm(f"Erase everything held about {user!r}? This cannot be undone", abort=True)
    with _store("subjects erase") as store:
        receipt = store.subjects.erase(store.scopes.subject_scope(user), by="cli")
    typer.echo(json.dumps(receipt, indent=2))


@subjects_cli.command("consent")
def subjects_consent(
    user: UserId,
    purpose: Annotated[
        str | None, typer.Argument(help="send_to_provider, store_transcripts or provider_retention.")
    ] = None,
    choice: Annotated[str | None, typer.Argument(help="grant or withdraw.")] = None,
) -> None:
    """Show a person's consent, or record a choice for one purpose."""
    from veil.store.consent import UnknownPurposeError

    if (purpose is None) != (choice is None) or choice not in (None, "grant", "withdraw"):
        typer.echo("veil subjects consent: give both PURPOSE and grant|withdraw, or neither", err=True)
        raise typer.Exit(2)
    with _store("subjects consent") as store:
        subject = store.scopes.subject_scope(user)
        if purpose is not None:
            try:
                store.consents.set(subject, purpose, choice == "grant", source="cli")
            except UnknownPurposeError as error:
                typer.echo(f"veil subjects consent: {error}", err=True)
                raise typer.Exit(2) from None
        state = store.consents.state(subject)
    typer.echo(json.dumps(state.as_dict(), indent=2))


@audit_cli.command("verify")
def audit_verify() -> None:
    """Check the whole audit chain. Exit 0 when intact; 1 naming the first bad entry."""
    with _store("audit verify") as store:
        result = store.audit.verify()
    if result.ok:
        typer.echo(f"audit chain intact: {result.entries} entries")
        return
    typer.echo(f"audit chain broken at entry {result.first_bad_seq}: {result.problem}", err=True)
    raise typer.Exit(1)


@contextlib.contextmanager
def _store(command: str) -> Iterator[Store]:
    from veil.app import build_store

    with _store_errors(command):
        store = build_store(Settings())
        try:
            yield store
        finally:
            store.db.dispose()


@contextlib.contextmanager
def _store_errors(command: str) -> Iterator[None]:
    from veil.store.database import StoreError
    from veil.store.master_key import MasterKeyError

    try:
        yield
    except (StoreError, MasterKeyError) as error:
        # These messages name files, settings and key ids, never key material or values.
        typer.echo(f"veil {command}: {error}", err=True)
        raise typer.Exit(2) from None
