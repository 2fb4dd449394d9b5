"""Where Veil's own time goes per request, in process: each stage of the gateway timed apart.

The app is the one `veil serve` builds (`create_app`, rules only, SQLite vault in a temp
dir, INFO log line per request written to /dev/null), driven through `httpx.ASGITransport`
on uvloop, with the upstream an `httpx.MockTransport` answering the fake upstream's fixed
completion. Each round sends the same body to the mock directly and through Veil, so
'added' is Veil's cost without a socket on either side. Stages are timed by wrapping the
gateway's own objects (their wall time, worker-thread hops included); the work done inside
the worker thread is timed apart, so the hop's share shows. 'Added CPU time' is the process's
CPU time (all threads) through Veil less the direct call's: on a busy machine it stays close
to the code's own cost while the wall times grow with the wait for a core.

    python -m bench.overhead                 # 1 KB prompt, same values every request
    python -m bench.overhead --fresh         # new values every request (minted in the vault)
    python -m bench.overhead --profile 25    # also cProfile the event loop's thread, top 25
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import functools
import inspect
import io
import logging
import os
import pstats
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import uvloop

from bench.corpus import pii_prompt
from bench.latency import chat_body
from bench.storage import _postgres_schema as postgres_schema
from bench.upstream import _COMPLETION
from veil.app import create_app
from veil.cli import configure_logging
from veil.config import Settings

Timings = defaultdict[str, list[float]]

# The gateway's stages, in request order: (label, object path from the gateway, attribute).
# A stage the gateway does not have is left out: `_consent` and `_pseudonymize` are the two
# worker-thread calls that `_admit` replaced, kept so that older trees can be measured alike.
_STAGES = (
    ("handler, all stages", "", "handle"),
    ("tenancy", "_tenancies", "resolve"),
    ("scope", "_scopes", "resolve"),
    ("consent (read, hop)", "", "_consent"),
    ("pseudonymize (hop)", "", "_pseudonymize"),
    ("consent + pseudonymize (hop)", "", "_admit"),
    ("upstream request (JSON out)", "_upstream", "request"),
    ("upstream (mock)", "_upstream", "send"),
    ("reply (parse, restore, JSON)", "", "_whole"),
    ("record (commit, hop)", "_recorder", "commit"),
    ("metrics + log line", "", "_done"),
)
# What runs inside the worker threads, timed there.
_IN_THREAD = (
    ("  in thread: consent read", "_consents", "state"),
    ("  in thread: detect + vault", "_pseudonymizer", "pseudonymize"),
    ("  in thread: audit + record txn", "_recorder._records", "save"),
)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--size", type=int, default=1024, help="prompt bytes")
    parser.add_argument("--fresh", action="store_true", help="new values every request")
    parser.add_argument("--storage-mode", default="metadata")
    parser.add_argument(
        "--postgres", action="store_true", help="a fresh schema on VEIL_BENCH_POSTGRES_URL, not SQLite"
    )
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="cProfile, top N by cumtime")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        data = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="veil-overhead-")))
        database_url = stack.enter_context(postgres_schema()) if args.postgres else None
        if args.postgres and database_url is None:
            raise SystemExit("PostgreSQL is not reachable at VEIL_BENCH_POSTGRES_URL")
        timings, profile = uvloop.run(_run(args, data, database_url))
    _print(timings, args)
    if profile is not None:
        stream = io.StringIO()
        pstats.Stats(profile, stream=stream).sort_stats("cumulative").print_stats(args.profile)
        print(stream.getvalue())


async def _run(
    args: argparse.Namespace, data: Path, database_url: str | None
) -> tuple[Timings, cProfile.Profile | None]:
    _log_like_serve()
    # No veil.toml from the current directory: the defaults are measured.
    os.environ["VEIL_CONFIG"] = str(data / "absent.toml")
    settings = Settings(
        upstream_base_url="http://upstream.test/v1",
        upstream_api_key="sk-bench",
        data_dir=data,
        ner_model="",
        storage_mode=args.storage_mode,
        database_url=database_url,
    )
    mock = httpx.MockTransport(_upstream)
    app = create_app(settings, http_client=httpx.AsyncClient(transport=mock))
    gateway = app.state.gateway
    timings: Timings = defaultdict(list)
    for label, path, name in (*_STAGES, *_IN_THREAD):
        _wrap(gateway, path, name, label, timings)
    veil = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://veil.test/v1")
    direct = httpx.AsyncClient(transport=mock, base_url="http://upstream.test/v1")
    profile = cProfile.Profile() if args.profile else None
    prompt = pii_prompt(args.size)
    for i in range(args.warmup + args.requests):
        body = chat_body(pii_prompt(args.size, fresh=i) if args.fresh else prompt)
        measured = i >= args.warmup
        for name, client in (
            (("direct", direct), ("veil", veil)) if i % 2 else (("veil", veil), ("direct", direct))
        ):
            if not measured:
                await _post(client, body)
                continue
            with _profiling(profile if name == "veil" else None):
                started, cpu = time.perf_counter(), time.process_time()
                await _post(client, body)
                timings[f"total: {name}"].append(time.perf_counter() - started)
                timings[f"cpu: {name}"].append(time.process_time() - cpu)
        if not measured:
            timings.clear()
    await veil.aclose()
    await direct.aclose()
    return timings, profile


async def _post(client: httpx.AsyncClient, body: bytes) -> None:
    response = await client.post(
        "/chat/completions",
        content=body,
        headers={"authorization": "Bearer sk-client", "content-type": "application/json"},
    )
    if response.status_code != 200:
        raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")


def _upstream(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=_COMPLETION, headers={"content-type": "application/json"})


def _wrap(root: Any, path: str, name: str, label: str, timings: Timings) -> None:
    owner = root
    for part in filter(None, path.split(".")):
        owner = getattr(owner, part, None)
    method = getattr(owner, name, None) if owner is not None else None
    if method is None:
        return
    if inspect.iscoroutinefunction(method):

        @functools.wraps(method)
        async def timed_async(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await method(*args, **kwargs)
            finally:
                timings[label].append(time.perf_counter() - started)

        setattr(owner, name, timed_async)
        return

    @functools.wraps(method)
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            timings[label].append(time.perf_counter() - started)

    setattr(owner, name, timed)


@contextlib.contextmanager
def _profiling(profile: cProfile.Profile | None) -> Iterator[None]:
    if profile is None:
        yield
        return
    profile.enable()
    try:
        yield
    finally:
        profile.disable()


def _log_like_serve() -> None:
    """`veil serve`'s logging (`cli.configure_logging`), to /dev/null: lines are formatted and written."""
    configure_logging("INFO")
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 - kept open for the run


def _print(timings: Timings, args: argparse.Namespace) -> None:
    kind = "new values every request" if args.fresh else "same values every request"
    database = "PostgreSQL" if args.postgres else "SQLite"
    print(f"{args.size} B prompt, {kind}, {database}, storage {args.storage_mode}, ", end="")
    print(f"{args.requests} requests after {args.warmup} warm-up")
    print(f"{'stage':38} {'p50 ms':>8} {'mean ms':>8}")
    for label in [label for label, *_ in (*_STAGES, *_IN_THREAD)]:
        if label in timings:
            _row(label, timings[label])
    direct, veil = timings["total: direct"], timings["total: veil"]
    _row("direct (mock upstream, no Veil)", direct)
    _row("through Veil", veil)
    _row("added (Veil - direct, same round)", [v - d for v, d in zip(veil, direct, strict=True)])
    cpu = [v - d for v, d in zip(timings["cpu: veil"], timings["cpu: direct"], strict=True)]
    _row("added CPU time, all threads", cpu)


def _row(label: str, seconds: list[float]) -> None:
    print(f"{label:38} {statistics.median(seconds) * 1e3:8.3f} {statistics.fmean(seconds) * 1e3:8.3f}")


if __name__ == "__main__":
    main()
