"""The leak gate: pii-leak-benchmark 0.6.0 against a real `veil serve`.

v1 (`ci`) starts Veil itself with its capture as the upstream and must say CLEAN.
v2 drives a running Veil whose upstream is the harness's capture on a fixed port, with
every split point of every injected value and the partial-emission tier.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.leakgate

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VEIL_") and k != "OPENAI_API_KEY"}
    return {**env, "VEIL_DATA_DIR": str(tmp_path / "veil-data"), **extra}


def test_v1_ci_says_clean(tmp_path: Path) -> None:
    port = _free_port()
    out = tmp_path / "v1"
    result = subprocess.run(
        [
            str(BIN / "pii-leak-benchmark"),
            "ci",
            "--target-base-url",
            f"http://127.0.0.1:{port}/v1",
            "--start-command",
            f"{BIN / 'veil'} serve --port {port}",
            "--upstream-env",
            "VEIL_UPSTREAM_BASE_URL",
            "--out",
            str(out),
        ],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    summary = (out / "summary.md").read_text() if (out / "summary.md").exists() else result.stdout[-3000:]
    assert result.returncode == 0, summary
    assert "**CLEAN**" in summary


@pytest.fixture
def veil_for_v2(tmp_path: Path) -> Iterator[tuple[str, int, Path]]:
    port, upstream_port = _free_port(), _free_port()
    log = tmp_path / "veil.log"
    with log.open("w") as sink:
        server = subprocess.Popen(
            [str(BIN / "veil"), "serve", "--port", str(port)],
            env=_env(tmp_path, VEIL_UPSTREAM_BASE_URL=f"http://127.0.0.1:{upstream_port}/v1"),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            else:
                pytest.fail(f"veil did not start: {log.read_text()[-2000:]}")
            yield f"http://127.0.0.1:{port}/v1/chat/completions", upstream_port, log
        finally:
            server.terminate()
            server.wait(timeout=10)


def test_v2_exhaustive_splits_and_partial_emission_pass(
    tmp_path: Path, veil_for_v2: tuple[str, int, Path]
) -> None:
    gateway_url, upstream_port, log = veil_for_v2
    out = tmp_path / "v2"
    result = subprocess.run(
        [
            str(BIN / "pii-leak-benchmark-v2"),
            "--validate",
            "--out",
            str(out),
            "--only",
            "veil",
            "--seed",
            "5eed0f5eed0f0001",
            "--gateway-url",
            gateway_url,
            "--upstream-port",
            str(upstream_port),
            "--exhaustive-splits",
            "--partial-emission",
        ],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((out / "veil.json").read_text())
    partial = json.loads((out / "veil.partial-emission.json").read_text())
    row = result.stdout
    assert "outcome=pass" in row and "schema=VALID" in row, row
    assert "fidelity=1.0" in row and "leak_adv=0.0" in row and "leak_single=0.0" in row, row
    assert "partial-emission=0.0" in row, row
    assert report and partial
    # The gateway's own log never carries a value it protected.
    assert "@example.com" not in log.read_text()
