"""The processes of a peers run: the recording upstream, Presidio's pieces and LiteLLM's proxy.

Each is a child process on a loopback port, its output in a log file, stopped (terminate,
then kill) when its `with` block ends. Veil is `bench.processes.VeilServer`, as in `make bench`.
"""

from __future__ import annotations

import json
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

from bench.peers.upstream import MIRROR

ROOT = Path(__file__).resolve().parents[2]
# LiteLLM and its many dependencies live in a virtualenv of their own (`make bench-peers`).
PEERS_VENV = ROOT / ".venv-peers"
LITELLM_VERSION = "1.108.7"
LITELLM = PEERS_VENV / "bin" / "litellm"
MODEL = "gpt-4o-mini"


class Server:
    """`command` serving HTTP on `port`; ready when GET `health` answers 200.

    `files` (name -> text) are written into the server's own temporary folder first, and
    `{dir}` in `command` stands for that folder.
    """

    def __init__(
        self,
        name: str,
        command: list[str],
        port: int,
        health: str,
        env: dict[str, str],
        files: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._dir = tempfile.TemporaryDirectory(prefix="veil-peers-")
        for file_name, text in (files or {}).items():
            (Path(self._dir.name) / file_name).write_text(text, encoding="utf-8")
        self._command = [arg.replace("{dir}", self._dir.name) for arg in command]
        self._health = health
        self._env = env
        self.log = Path(self._dir.name) / "server.log"
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        with self.log.open("wb") as sink:
            self._process = subprocess.Popen(
                self._command, cwd=ROOT, env=self._env, stdin=subprocess.DEVNULL, stdout=sink, stderr=sink
            )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and self._process.poll() is None:
            try:
                if httpx.get(self.url + self._health, timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        tail = self.log.read_text(errors="replace")[-3000:]
        self.__exit__(None, None, None)
        raise RuntimeError(f"{self.name} did not start:\n{tail}")

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._dir.cleanup()


class RecordingUpstream:
    """`python -m bench.peers.upstream` on a free port."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.port = 0

    def __enter__(self) -> RecordingUpstream:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "bench.peers.upstream"],
            cwd=ROOT,
            env=child_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline().strip()
        if not line.isdigit():
            self.__exit__(None, None, None)
            raise RuntimeError("the fake upstream did not start")
        self.port = int(line)
        self.url = f"http://127.0.0.1:{self.port}"
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=10)
        if self._process is not None and self._process.stdout is not None:
            self._process.stdout.close()


def presidio_service() -> Server:
    """Presidio's analyzer and anonymizer routes (`bench.peers.presidio_service`)."""
    port = free_port()
    command = [sys.executable, "-m", "bench.peers.presidio_service", "--port", str(port)]
    return Server("the Presidio service", command, port, "/health", child_env())


def presidio_proxy(upstream_url: str) -> Server:
    """Presidio in front of `upstream_url` (`bench.peers.presidio_proxy`)."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "bench.peers.presidio_proxy",
        "--port",
        str(port),
        "--upstream",
        upstream_url,
    ]
    return Server("the Presidio proxy", command, port, "/healthz", child_env())


def litellm_proxy(upstream_url: str, master_key: str, presidio_url: str | None) -> Server:
    """LiteLLM's proxy with the bench's models routed to `upstream_url`; with `presidio_url`, its
    Presidio guardrail on every request, restoring the masked values in replies."""
    if not LITELLM.exists():
        raise RuntimeError(f"LiteLLM is not installed: make bench-peers installs it into {PEERS_VENV}")
    port = free_port()
    config: dict[str, object] = {
        "model_list": [
            {
                "model_name": model,
                "litellm_params": {
                    "model": f"openai/{model}",
                    "api_base": upstream_url + "/v1",
                    "api_key": "sk-bench-upstream",
                },
            }
            for model in (MODEL, MIRROR)
        ],
        # LiteLLM refuses to start without one; clients send it as their bearer token.
        "general_settings": {"master_key": master_key},
    }
    if presidio_url is not None:
        config["guardrails"] = [
            {
                "guardrail_name": "presidio-pii",
                "litellm_params": {
                    "guardrail": "presidio",
                    "mode": "pre_call",
                    "default_on": True,
                    "output_parse_pii": True,
                    "presidio_language": "en",
                    "presidio_analyzer_api_base": presidio_url,
                    "presidio_anonymizer_api_base": presidio_url,
                },
            }
        ]
    name = "LiteLLM's proxy" + (" with its Presidio guardrail" if presidio_url else "")
    command = [str(LITELLM), "--config", "{dir}/litellm.yaml", "--host", "127.0.0.1", "--port", str(port)]
    # Without it LiteLLM fetches its model price list from GitHub at import time.
    env = {**child_env(), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    # JSON is YAML.
    return Server(
        name, command, port, "/health/liveliness", env, {"litellm.yaml": json.dumps(config, indent=2)}
    )


def child_env() -> dict[str, str]:
    # A real key in the environment would be forwarded upstream, and VEIL_* settings would
    # change what is measured.
    return {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY" and not k.startswith("VEIL_")}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
