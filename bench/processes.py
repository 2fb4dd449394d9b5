"""The two servers under test, each in its own process: the fake upstream and `veil serve`.

Separate processes, so neither shares a GIL with the measuring client. On a 2-core machine
the three still compete for cores, but requests are sequential, so mostly one runs at once.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import httpx


class Process:
    """A child process, stopped (terminate, then kill) when the `with` block ends."""

    def __init__(
        self, command: list[str], env: dict[str, str] | None = None, log: Path | None = None
    ) -> None:
        self._command = command
        self._env = env
        self._log = log
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> subprocess.Popen[bytes]:
        stderr = self._log.open("wb") if self._log else subprocess.DEVNULL
        self._process = subprocess.Popen(
            self._command, env=self._env, stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL
        )
        return self._process

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


class FakeUpstream:
    """`python -m bench.upstream` on a free port."""

    def __init__(self) -> None:
        self._process = Process([sys.executable, "-m", "bench.upstream"], env=_child_env())
        self.url = ""

    def __enter__(self) -> FakeUpstream:
        process = self._process.__enter__()
        assert process.stdout is not None
        port = process.stdout.readline().strip()
        if not port.isdigit():
            self._process.__exit__(None, None, None)
            raise RuntimeError("the fake upstream did not start")
        self.url = f"http://127.0.0.1:{int(port)}"
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._process.__exit__(exc_type, exc, traceback)


class VeilServer:
    """`veil serve` with its defaults (SQLite vault, INFO logging), pointed at `upstream_url`.

    `overrides` are extra environment variables, e.g. `{"VEIL_NER_MODEL": ""}` for rules only.
    """

    def __init__(self, upstream_url: str, overrides: Mapping[str, str] | None = None) -> None:
        self._data_dir = tempfile.TemporaryDirectory(prefix="veil-bench-")
        data = Path(self._data_dir.name)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = _child_env()
        env.update(
            VEIL_UPSTREAM_BASE_URL=upstream_url + "/v1",
            VEIL_DATA_DIR=str(data / "data"),
            # No veil.toml from the current directory: the benchmark measures the defaults.
            VEIL_CONFIG=str(data / "absent.toml"),
        )
        env.update(overrides or {})
        self.log = data / "veil.log"
        self._process = Process([*_veil_command(), "serve", "--port", str(self.port)], env=env, log=self.log)

    def __enter__(self) -> VeilServer:
        process = self._process.__enter__()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.05)
        tail = self.log.read_text(errors="replace")[-2000:]
        self.__exit__(None, None, None)
        raise RuntimeError(f"veil serve did not start:\n{tail}")

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._process.__exit__(exc_type, exc, traceback)
        self._data_dir.cleanup()


def _veil_command() -> list[str]:
    script = Path(sys.executable).with_name("veil")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from veil.cli import main; main()"]


def _child_env() -> dict[str, str]:
    # A real key in the environment would be forwarded upstream (the fake needs none), and
    # other VEIL_* settings would change what is measured.
    return {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY" and not k.startswith("VEIL_")}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
