"""`pii-leak-benchmark-v2` (the `dev` extra) against one running gateway, as the leak gate runs it.

The gateway's upstream must be the harness's capture on `upstream_port` (fixed before the
gateway starts); the harness streams 32 cases through it and scores what reached the capture
(the request path) and what the client got back (restored echoes, redacted new values). No
gateway at all is the harness pointed at its own capture. The full profile adds every
two-part split of each value (`--exhaustive-splits`) and the partial-emission pass, as
`tests/e2e/test_leak_gate.py` does for Veil.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.peers.servers import MODEL, child_env

HARNESS = Path(sys.executable).with_name("pii-leak-benchmark-v2")
SEED = "5eed0f5eed0f0001"


@dataclass(frozen=True)
class LeakResult:
    outcome: str
    fidelity: float
    leak_single: float
    leak_adversarial: float
    request_path_leak: tuple[str, ...]
    fragmentation_passed: bool
    coalescing_rate: float
    partial_emission: float | None
    cases: str


def run(slug: str, gateway_url: str, upstream_port: int, out: Path, token: str, *, full: bool) -> LeakResult:
    """One harness run; `slug` names its reports in `out`."""
    command = [
        str(HARNESS),
        "--validate",
        "--out",
        str(out),
        "--only",
        slug,
        "--seed",
        SEED,
        "--gateway-url",
        gateway_url + "/v1/chat/completions",
        "--upstream-port",
        str(upstream_port),
        "--model",
        MODEL,
        "--json-out",
        str(out / f"{slug}.summary.json"),
    ]
    if full:
        command += ["--exhaustive-splits", "--partial-emission"]
    done = subprocess.run(
        command, env={**child_env(), "V2_GATEWAY_TOKEN": token}, capture_output=True, text=True, timeout=900
    )
    summary_path = out / f"{slug}.summary.json"
    if not summary_path.exists():
        raise RuntimeError(
            f"pii-leak-benchmark-v2 wrote no summary for {slug}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    row = json.loads(summary_path.read_text())["rows"][0]
    report = json.loads((out / f"{slug}.json").read_text())
    fragmentation = report["checks"]["fragmentation_safety"]
    partial = None
    partial_path = out / f"{slug}.partial-emission.json"
    if partial_path.exists():
        partial = json.loads(partial_path.read_text())["metrics"]["partial_emission_rate"]["overall"]
    return LeakResult(
        outcome=row["outcome"] + ("" if row["schema_valid"] else " (schema INVALID)"),
        fidelity=row["fidelity_rate"],
        leak_single=row["leak_single_chunk"],
        leak_adversarial=row["leak_adversarial"],
        request_path_leak=tuple(row["request_path_leak"]),
        fragmentation_passed=bool(fragmentation["passed"]),
        coalescing_rate=float(fragmentation.get("coalescing_rate") or 0.0),
        partial_emission=partial,
        cases=f"{row['cases_applicable']}/{row['cases_attempted']}",
    )
