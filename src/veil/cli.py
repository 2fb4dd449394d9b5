"""The `veil` command: serve, scan, eval, demo and policy here; purge, keys, subjects and
audit, which open the store, in `cli_store`."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from veil.cli_store import audit_cli, keys_cli, purge, subjects_cli
from veil.config import Settings

if TYPE_CHECKING:
    from veil.evaluation import Score

cli = typer.Typer(
    no_args_is_help=True, add_completion=False, help="Veil: a privacy gateway for the OpenAI API."
)
policy_cli = typer.Typer(no_args_is_help=True, help="Policy files: check one, compare two.")
PolicyFile = Annotated[Path, typer.Argument(help="A policy file (TOML).", dir_okay=False)]

# How long `veil serve` keeps an idle client connection: well past the 5 s for which httpx
# (and so the openai SDK) reuses one, so the client always closes first. With uvicorn's own 5 s
# a busy server now and then closed a connection a request had just been sent on.
KEEP_ALIVE_SECONDS = 75


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default 8080).")] = None,
) -> None:
    """Run the gateway. Point the OpenAI SDK's base_url at http://HOST:PORT/v1."""
    import uvicorn

    from veil.app import create_app
    from veil.detect.ner import NerModelError
    from veil.store.database import StoreError
    from veil.store.master_key import MasterKeyError

    overrides: dict[str, Any] = {}
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    settings = Settings(**overrides)
    configure_logging(settings.log_level)
    try:
        app = create_app(settings)
    except (MasterKeyError, StoreError, NerModelError) as error:
        # These messages name files and settings, never key material.
        typer.echo(f"veil: {error}", err=True)
        raise typer.Exit(2) from None
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )


def configure_logging(level: str) -> None:
    """`veil serve`'s logging at `level` (a level's name, in any case; at INFO Veil writes one
    line per request).

    httpx logs every upstream call at INFO too ("HTTP Request: POST …"): no values, but
    twice the lines, and their cost. It and httpcore are heard from WARNING up unless DEBUG
    (or lower) was asked for.
    """
    level = level.upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if logging.getLevelName(level) > logging.DEBUG:
        for name in ("httpx", "httpcore"):
            logging.getLogger(name).setLevel(logging.WARNING)


@cli.command()
def scan(
    file: Annotated[Path | None, typer.Argument(help="Text file to scan; stdin when omitted.")] = None,
    jsonl: Annotated[bool, typer.Option("--jsonl", help='Each input line is {"text": ...}.')] = False,
) -> None:
    """Print the PII and secrets found in text."""
    from veil.app import build_analyzer

    analyzer = build_analyzer(Settings())
    source = file.read_text(encoding="utf-8") if file else sys.stdin.read()
    if jsonl:
        for number, line in enumerate(source.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                text = json.loads(line)["text"]
            except (ValueError, KeyError, TypeError):
                typer.echo(f"line {number}: expected a JSON object with a 'text' field", err=True)
                raise typer.Exit(2) from None
            spans = [
                {
                    "type": s.entity_type,
                    "start": s.start,
                    "end": s.end,
                    "score": s.score,
                    "detector": s.detector,
                }
                for s in analyzer.analyze(text)
            ]
            typer.echo(json.dumps({"spans": spans}))
        return
    table = Table("type", "start", "end", "score", "detector", "text")
    for span in analyzer.analyze(source):
        table.add_row(
            span.entity_type,
            str(span.start),
            str(span.end),
            f"{span.score:.2f}",
            span.detector,
            source[span.start : span.end],
        )
    Console().print(table)


@cli.command("eval")
def eval_corpus(
    corpus: Annotated[
        Path,
        typer.Argument(help="JSONL corpus: {text, spans: [{type, start, end}]} per line.", dir_okay=False),
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document instead of a table.")
    ] = False,
) -> None:
    """Measure detection quality on a labelled corpus: precision, recall, F1 and covered recall per type."""
    from veil.app import build_analyzer
    from veil.evaluation import CorpusError, evaluate, load_corpus

    try:
        samples = load_corpus(corpus)
    except CorpusError as error:
        typer.echo(f"veil eval: {corpus}: {error}", err=True)
        raise typer.Exit(2) from None
    except (OSError, UnicodeDecodeError) as error:
        typer.echo(f"veil eval: cannot read {corpus}: {type(error).__name__}", err=True)
        raise typer.Exit(2) from None
    report = evaluate(build_analyzer(Settings()), samples)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
        return
    table = Table()
    table.add_column("type", no_wrap=True)
    for header in ("gold", "pred", "TP", "P", "R", "F1", "covered"):
        table.add_column(header, justify="right")
    untargeted = Table()
    untargeted.add_column("not targeted", no_wrap=True)
    untargeted.add_column("gold", justify="right")
    untargeted.add_column("covered", justify="right")
    for name, score in report.by_type.items():
        if name in report.targeted:
            table.add_row(name, *_score_cells(score))
        else:
            untargeted.add_row(name, str(score.gold), _ratio(score.covered_recall))
    table.add_section()
    table.add_row("all (micro)", *_score_cells(report.total))
    table.add_row("structured (micro)", *_score_cells(report.structured))
    console = Console()
    console.print(table)
    if untargeted.row_count:
        console.print(untargeted)
    console.print("P, R, F1: same type, overlapping, one to one. covered: hidden by spans of any type.")
    console.print(
        f"precision {_ratio(report.total.precision)}, "
        f"any-label precision {_ratio(report.any_label_precision)}, "
        f"set aside {report.ignored}"
    )
    console.print(
        f"{report.samples} samples, {report.kilobytes:.1f} KB, {_ratio(report.ms_per_kb)} ms per KB"
    )


def _score_cells(score: Score) -> list[str]:
    return [
        str(score.gold),
        str(score.predicted),
        str(score.tp),
        _ratio(score.precision),
        _ratio(score.recall),
        _ratio(score.f1),
        _ratio(score.covered_recall),
    ]


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


@cli.command()
def demo() -> None:
    """Offline demo: Veil in front of a stand-in upstream, driven by the official SDK."""
    from veil.demo import run_demo

    run_demo()


@policy_cli.command("check")
def policy_check(file: PolicyFile) -> None:
    """Validate a policy file; print its version and tenants, or every problem with its line."""
    policy = _load_policy(file)
    typer.echo(f"{file}: valid, version {policy.version}")
    for name in ["(default)", *sorted(policy.tenants)]:
        tenant = policy.for_tenant(None if name == "(default)" else name)
        actions = ", ".join(f"{kind}={action}" for kind, action in sorted(tenant.actions.items()))
        typer.echo(
            f"  {name}: default {tenant.default_action}; {actions or 'no per-type actions'};"
            f" storage {tenant.storage_mode}"
        )


@policy_cli.command("diff")
def policy_diff(old: PolicyFile, new: PolicyFile) -> None:
    """What changes from OLD to NEW, tenant by tenant. Exit 0 when nothing does, 1 otherwise."""
    from veil.policy.diff import diff_policies

    before, after = _load_policy(old), _load_policy(new)
    changes = diff_policies(before, after)
    typer.echo(f"{before.version} -> {after.version}")
    for change in changes:
        typer.echo(f"  {change}")
    if not changes:
        typer.echo("  no change in effect")
        return
    raise typer.Exit(1)


def _load_policy(file: Path) -> Any:
    from veil.policy.loading import PolicyError, load_policy

    try:
        return load_policy(file)
    except PolicyError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None


# `veil --help` lists commands, then groups, each in the order they were added.
cli.command()(purge)
cli.add_typer(keys_cli, name="keys")
cli.add_typer(subjects_cli, name="subjects")
cli.add_typer(audit_cli, name="audit")
cli.add_typer(policy_cli, name="policy")


def main() -> None:
    cli()
