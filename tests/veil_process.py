"""Real `veil serve` processes, and a recording upstream on loopback, for end-to-end tests.

`VeilProcess` runs the installed `veil serve` with a clean environment (no VEIL_* or
OPENAI_API_KEY from the caller, no veil.toml) plus the settings a test gives it; it can be
stopped politely or killed with SIGKILL. `RecordingUpstream` is a fake OpenAI
upstream on a free loopback port that keeps every body it received.

Run as a script it measures the figures in docs/scaling.md: requests/s through N replicas
(`http`), and request records committed per second by N processes (`saves`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from veil.demo import LoopbackServer
from veil.store.master_key import encode_master_key

VEIL = Path(sys.executable).with_name("veil")
REPO = Path(__file__).resolve().parents[1]
STARTUP_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def clean_environment() -> dict[str, str]:
    # A real key would be forwarded upstream, and the caller's VEIL_* would change the setup.
    return {k: v for k, v in os.environ.items() if not k.startswith("VEIL_") and k != "OPENAI_API_KEY"}


def echo_last_user(body: dict[str, Any]) -> str:
    said = next((m["content"] for m in reversed(body["messages"]) if m["role"] == "user"), "")
    return f"You said: {said}"


class RecordingUpstream:
    """A fake OpenAI upstream served by uvicorn on a loopback port, keeping every body it got.

    It answers `reply(body)` (by default the last user message, echoed), whole or as a
    stream of 4-character deltas, so a value split across deltas is the common case.
    """

    def __init__(self) -> None:
        self.reply: Callable[[dict[str, Any]], str] = echo_last_user
        self._bodies: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server = LoopbackServer(
            Starlette(routes=[Route("/v1/chat/completions", self._chat, methods=["POST"])])
        )
        self.url = ""

    def __enter__(self) -> RecordingUpstream:
        self._server.__enter__()
        self.url = self._server.url + "/v1"
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.__exit__(exc_type, exc, tb)

    def bodies(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._bodies)

    async def _chat(self, request: Request) -> Response:
        body = await request.json()
        with self._lock:
            self._bodies.append(body)
        text = self.reply(body)
        head = {"id": "chatcmpl-recording", "created": 1700000000, "model": body["model"]}
        if not body.get("stream"):
            message = {"role": "assistant", "content": text, "refusal": None}
            choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}
            return JSONResponse({**head, "object": "chat.completion", "choices": [choice]})

        def event(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            chunk = {**head, "object": "chat.completion.chunk", "choices": [choice]}
            return b"data: " + json.dumps(chunk).encode() + b"\n\n"

        def events() -> Iterator[bytes]:
            yield event({"role": "assistant", "content": ""})
            for start in range(0, len(text), 4):
                yield event({"content": text[start : start + 4]})
            yield event({}, "stop")
            yield b"data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")


class VeilProcess:
    """One `veil serve` child process. `start` returns at once; `wait_ready` waits for /healthz.

    Unless `env` says otherwise it keeps its data in `workdir/data` under a master key of its
    own: processes that must share a key (replicas, a restart) are given one.
    """

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"veil-{self.port}.log"
        self._env = {
            **clean_environment(),
            "VEIL_CONFIG": str(workdir / "absent.toml"),
            "VEIL_DATA_DIR": str(workdir / "data"),
            "VEIL_MASTER_KEY": encode_master_key(secrets.token_bytes(32)),
            "VEIL_NER_MODEL": "",
            "VEIL_LOG_LEVEL": "WARNING",
            **env,
        }
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def start(self) -> VeilProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self._process = subprocess.Popen(
            [str(VEIL), "serve", "--port", str(self.port)],
            env=self._env,
            cwd=self.workdir,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        return self

    def wait_ready(self, timeout: float = STARTUP_SECONDS) -> VeilProcess:
        assert self._process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._process.poll() is None:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            time.sleep(0.05)
        raise RuntimeError(f"veil serve did not start (exit {self._process.poll()}):\n{self.log()[-3000:]}")

    def kill(self) -> int:
        """SIGKILL: no shutdown code runs, as in a crash or an OOM kill. Returns the exit status."""
        assert self._process is not None
        os.kill(self._process.pid, signal.SIGKILL)
        return self._finish(self._process.wait(timeout=10))

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL if it does not exit within 10 s. Safe to call twice."""
        process = self._process
        if process is None:
            return None
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return self._finish(process.returncode)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _finish(self, status: int) -> int:
        if self._log is not None:
            self._log.close()
            self._log = None
        return status


def veil_cli(workdir: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run one `veil` command (not `serve`) with the same clean environment as VeilProcess."""
    workdir.mkdir(parents=True, exist_ok=True)
    full_env = {
        **clean_environment(),
        "VEIL_CONFIG": str(workdir / "absent.toml"),
        "VEIL_NER_MODEL": "",
        "VEIL_DATA_DIR": str(workdir / "data"),
        **env,
    }
    return subprocess.run(
        [str(VEIL), *args], env=full_env, cwd=workdir, capture_output=True, text=True, timeout=60
    )


@contextlib.contextmanager
def running(*processes: VeilProcess) -> Any:
    """Start every process at once (they migrate concurrently), wait for all, stop all after."""
    try:
        for process in processes:
            process.start()
        for process in processes:
            process.wait_ready()
        yield processes
    finally:
        for process in processes:
            process.stop()


# --- throughput, for docs/scaling.md ----------------------------------------------------------

_PROMPT = (
    "Hello, I am {user}. Please write to {user}@example.com or call +1 415-555-{n:04d}; "
    "the card on file is 4111 1111 1111 1111. Summarise my last three orders in two sentences."
)


async def _load(urls: list[str], seconds: float, concurrency: int, users: int) -> dict[str, Any]:
    latencies: list[float] = []
    failures = 0
    deadline = time.monotonic() + seconds
    counter = 0

    async def worker(http: httpx.AsyncClient) -> None:
        nonlocal counter, failures
        while time.monotonic() < deadline:
            counter += 1
            n = counter
            user = f"user{n % users}"
            body = {
                "model": "echo",
                "user": user,
                "messages": [{"role": "user", "content": _PROMPT.format(user=user, n=n % users)}],
            }
            started = time.perf_counter()
            # Round robin across replicas: a load balancer without affinity.
            response = await http.post(urls[n % len(urls)] + "/v1/chat/completions", json=body)
            if response.status_code == 200:
                latencies.append(time.perf_counter() - started)
            else:
                failures += 1

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30, headers={"authorization": "Bearer sk-x"}) as http:
        began = time.monotonic()
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
        elapsed = time.monotonic() - began
    latencies.sort()
    return {
        "requests_per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 1),
        "ok": len(latencies),
        "failed": failures,
    }


@contextlib.contextmanager
def bench_upstream() -> Any:
    """`python -m bench.upstream` (raw asyncio, its own process): an upstream that costs ~nothing."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.upstream"],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        yield f"http://127.0.0.1:{int(process.stdout.readline())}/v1"
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def _saves_worker(url: str, master_key: str, threads: int, start_at: float, seconds: float) -> None:
    """Commit request records (audit entry + metadata row, as `veil serve` does) from
    `threads` threads for `seconds`; prints how many."""
    from veil.store.audit import AuditLog
    from veil.store.database import Database
    from veil.store.keys import EnvKeyProvider
    from veil.store.records import Exchange, RecordStore
    from veil.store.subject_keys import AUDIT_SECRET, SubjectKeys

    db = Database(url)
    keys = SubjectKeys(db, EnvKeyProvider(master_key))
    store = RecordStore(db, keys, AuditLog(db, keys.installation_secret(AUDIT_SECRET)), "metadata")
    counts = [0] * threads

    def work(thread: int) -> None:
        while time.time() < start_at + seconds:
            subject = f"subject:{thread}-{counts[thread] % 50}"
            exchange = Exchange(f"veil-{secrets.token_hex(16)}", subject, "chat_completions", "m", False, 0.0)
            store.save(exchange)
            counts[thread] += 1

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    time.sleep(max(0.0, start_at - time.time()))
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    db.dispose()
    print(sum(counts))


def _saves(database: str, processes: int, threads: int, seconds: float) -> dict[str, Any]:
    from databases import database_url
    from veil.store.database import Database

    master_key = encode_master_key(secrets.token_bytes(32))
    with tempfile.TemporaryDirectory(prefix="veil-saves-") as tmp, database_url(database, Path(tmp)) as url:
        db = Database(url)
        db.migrate()
        db.dispose()
        start_at = time.time() + 3  # every process opens its pool before the clock starts
        command = [sys.executable, __file__, "saves-worker", url, master_key, str(threads), str(start_at)]
        children = [
            subprocess.Popen([*command, str(seconds)], stdout=subprocess.PIPE, text=True)
            for _ in range(processes)
        ]
        counts = [int(child.communicate(timeout=seconds + 60)[0]) for child in children]
    return {"saves_per_second": round(sum(counts) / seconds), "per_process": counts}


def main() -> None:
    parser = argparse.ArgumentParser(description="Throughput figures for docs/scaling.md.")
    commands = parser.add_subparsers(dest="command", required=True)
    http = commands.add_parser("http", help="requests/s through N `veil serve` replicas on one database")
    http.add_argument("--replicas", type=int, default=2)
    http.add_argument("--database", choices=("sqlite", "postgresql"), default="postgresql")
    http.add_argument("--seconds", type=float, default=10.0)
    http.add_argument("--concurrency", type=int, default=16)
    http.add_argument("--users", type=int, default=500)
    http.add_argument("--storage-mode", default="metadata")
    saves = commands.add_parser("saves", help="request records committed per second by N processes")
    saves.add_argument("--processes", type=int, default=1)
    saves.add_argument("--threads", type=int, default=4)
    saves.add_argument("--database", choices=("sqlite", "postgresql"), default="postgresql")
    saves.add_argument("--seconds", type=float, default=5.0)
    worker = commands.add_parser("saves-worker")
    for name in ("url", "master_key", "threads", "start_at", "seconds"):
        worker.add_argument(name)
    args = parser.parse_args()
    if args.command == "saves-worker":
        _saves_worker(args.url, args.master_key, int(args.threads), float(args.start_at), float(args.seconds))
        return
    if args.command == "saves":
        result = _saves(args.database, args.processes, args.threads, args.seconds)
        print(json.dumps({"database": args.database, "processes": args.processes, **result}))
        return

    from databases import database_url

    with (
        tempfile.TemporaryDirectory(prefix="veil-load-") as tmp,
        database_url(args.database, Path(tmp)) as url,
        bench_upstream() as upstream_url,
    ):
        workdir = Path(tmp)
        env = {
            "VEIL_UPSTREAM_BASE_URL": upstream_url,
            "VEIL_MASTER_KEY": encode_master_key(secrets.token_bytes(32)),
            "VEIL_DATA_DIR": str(workdir / "data"),
            "VEIL_DATABASE_URL": url,
            "VEIL_STORAGE_MODE": args.storage_mode,
        }
        replicas = [VeilProcess(workdir / f"replica{i}", env) for i in range(args.replicas)]
        urls = [replica.url for replica in replicas]
        with running(*replicas):
            asyncio.run(_load(urls, 2.0, args.concurrency, args.users))  # warm-up: keys, caches
            result = asyncio.run(_load(urls, args.seconds, args.concurrency, args.users))
    print(json.dumps({"database": args.database, "replicas": args.replicas, **result}))


if __name__ == "__main__":
    main()
