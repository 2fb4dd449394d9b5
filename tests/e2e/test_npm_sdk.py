"""Other clients: the official `openai` npm SDK against a real `veil serve`, with nothing but
its baseURL changed (tests/npm/sdk_check.mjs), the fake upstream on a loopback port."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from e2e.test_chat_privacy import assert_unseen
from fake_upstream import FakeUpstream
from veil.demo import LoopbackServer

NPM_DIR = Path(__file__).resolve().parents[1] / "npm"
VEIL = Path(sys.executable).with_name("veil")
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(
    NODE is None, reason="Node.js is not installed: the npm SDK check needs `node`"
)

EMAIL = "ines.npm@example.com"
CARD = "4111 1111 1111 1111"
PROMPT = f"Send the receipt for card {CARD} to {EMAIL} today"


def npm_dependencies() -> None:
    """`npm ci` when node_modules is missing or older than the lock file (`make test` does it too)."""
    installed = NPM_DIR / "node_modules" / ".package-lock.json"
    lock = NPM_DIR / "package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    npm = shutil.which("npm")
    assert npm is not None, "node is installed but npm is not: cannot install tests/npm's dependencies"
    subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--prefix", str(NPM_DIR)], check=True, capture_output=True
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def veil_url(tmp_path: Path, upstream: FakeUpstream) -> Iterator[str]:
    """A real `veil serve` on a loopback port, its upstream the fake one on another."""
    with LoopbackServer(upstream.asgi()) as fake:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("VEIL_") and k != "OPENAI_API_KEY"}
        env |= {
            "VEIL_UPSTREAM_BASE_URL": fake.url + "/v1",
            "VEIL_UPSTREAM_API_KEY": "sk-upstream-test-key",
            "VEIL_DATA_DIR": str(tmp_path / "veil-data"),
        }
        log = tmp_path / "veil.log"
        with log.open("w") as sink:
            server = subprocess.Popen(
                [str(VEIL), "serve", "--port", str(port)], env=env, stdout=sink, stderr=subprocess.STDOUT
            )
            try:
                deadline = time.monotonic() + 30
                while True:
                    try:
                        if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    if server.poll() is not None or time.monotonic() > deadline:
                        pytest.fail(f"veil did not start: {log.read_text()[-2000:]}")
                    time.sleep(0.1)
                yield f"http://127.0.0.1:{port}/v1"
            finally:
                server.terminate()
                server.wait(timeout=10)


def test_the_npm_sdk_works_with_only_its_base_url_changed(veil_url: str, upstream: FakeUpstream) -> None:
    npm_dependencies()
    assert NODE is not None
    result = subprocess.run(
        [NODE, str(NPM_DIR / "sdk_check.mjs")],
        env={**os.environ, "VEIL_BASE_URL": veil_url, "VEIL_CHECK_PROMPT": PROMPT},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    got = json.loads(result.stdout)

    expected = f"You said: {PROMPT}"
    assert got["chat"] == got["chatStreamed"] == expected
    assert got["chatDeltaCount"] > 3, "the reply stays a stream of many events"
    assert got["response"] == got["responseStreamed"] == got["responseFinal"] == expected
    assert got["responseInstructions"] == f"Help {PROMPT}"
    assert got["eventTypes"][0] == "response.created" and got["eventTypes"][-1] == "response.completed"

    assert [path.split("/v1", 1)[1] for path in upstream.paths] == [
        "/chat/completions",
        "/chat/completions",
        "/responses",
        "/responses",
    ]
    for value in (EMAIL, CARD):
        assert_unseen(upstream, value)
    tokens = "card <CREDIT_CARD_1> to <EMAIL_ADDRESS_1>"
    assert tokens in upstream.bodies[0]["messages"][0]["content"]
    assert tokens in upstream.bodies[2]["input"] and tokens in upstream.bodies[2]["instructions"]
    assert b"sk-npm-client" not in upstream.seen(), "Veil's own upstream key is used"
