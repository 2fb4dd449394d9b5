"""`veil serve`'s log: one line per request from Veil at INFO, none from the upstream client
(httpx's "HTTP Request: …" comes back at DEBUG)."""

from __future__ import annotations

from pathlib import Path

import pytest
from openai import OpenAI

from veil_process import RecordingUpstream, VeilProcess, running

REQUESTS = 3


def _serve_and_ask(tmp_path: Path, log_level: str) -> str:
    """The whole output of a server at `log_level` that answered REQUESTS chat requests."""
    with RecordingUpstream() as upstream:
        server = VeilProcess(
            tmp_path,
            {
                "VEIL_LOG_LEVEL": log_level,
                "VEIL_UPSTREAM_BASE_URL": upstream.url,
            },
        )
        with running(server):
            client = OpenAI(api_key="sk-client-key", base_url=server.url + "/v1", max_retries=0)
            for turn in range(REQUESTS):
                done = client.chat.completions.create(
                    model="m", messages=[{"role": "user", "content": f"turn {turn}: mail ana@example.com"}]
                )
                assert done.choices[0].message.content == f"You said: turn {turn}: mail ana@example.com"
            client.close()
        assert len(upstream.bodies()) == REQUESTS
    return server.log()


@pytest.mark.parametrize("log_level", ["INFO", "info"])
def test_at_info_each_request_is_one_line_and_the_upstream_call_none(tmp_path: Path, log_level: str) -> None:
    log = _serve_and_ask(tmp_path, log_level)

    lines = log.splitlines()
    assert len([line for line in lines if " INFO veil.proxy " in line]) == REQUESTS, log
    assert [line for line in lines if " httpx " in line or " httpcore" in line] == []
    assert "ana@example.com" not in log


def test_at_debug_the_upstream_calls_are_logged(tmp_path: Path) -> None:
    log = _serve_and_ask(tmp_path, "DEBUG")

    assert len([line for line in log.splitlines() if " INFO httpx HTTP Request: POST " in line]) == REQUESTS
