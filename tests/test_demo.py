"""`veil demo`: it runs offline, shows the three views, and its self-check can fail."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence

import pytest
from rich.console import Console
from starlette.testclient import TestClient
from typer.testing import CliRunner

from veil.cli import cli
from veil.demo import AWS_KEY, CARD, EMAIL, IBAN, PHONE, SSN, VALUES, run_demo
from veil.pseudonymize.pseudonymizer import Pseudonymized, Pseudonymizer
from veil.standin import LABEL, StandInUpstream


def _console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=240, color_system=None), out


def test_demo_command_exits_zero_and_shows_the_three_views() -> None:
    result = CliRunner().invoke(cli, ["demo"], env={"COLUMNS": "240"})

    assert result.exit_code == 0, result.output
    for label in (
        "What the app sent",
        "What the upstream saw",
        "What the app got back",
        "x-veil-redactions:",
    ):
        assert label in result.output
    assert (
        "x-veil-redactions: AWS_ACCESS_KEY_ID=1,CREDIT_CARD=1,EMAIL_ADDRESS=1,PHONE_NUMBER=1" in result.output
    )
    assert "<EMAIL_ADDRESS_1>" in result.output and "<IBAN_CODE_1>" in result.output
    assert f"{LABEL} You said:" in result.output and f"{LABEL} The tool returned:" in result.output
    for value in (EMAIL, PHONE, CARD, AWS_KEY, IBAN, SSN):
        assert value in result.output
    assert "Self-check passed" in result.output
    assert "FAIL" not in result.output


def test_the_stand_in_never_saw_a_raw_value_and_the_app_got_every_one_back() -> None:
    console, out = _console()
    run = run_demo(console)

    seen = b"\n".join(run.upstream_received)
    assert len(run.upstream_received) == 4
    for value in VALUES:
        for form in (value.encode(), json.dumps(value)[1:-1].encode()):
            assert form not in seen
    for token in (
        "<EMAIL_ADDRESS_1>",
        "<PHONE_NUMBER_1>",
        "<CREDIT_CARD_1>",
        "<AWS_ACCESS_KEY_ID_1>",
        "<IBAN_CODE_1>",
    ):
        assert token.encode() in seen
    got = [turn.got for turn in run.turns]
    assert all(value in got[0] for value in (EMAIL, PHONE, CARD, AWS_KEY))
    assert PHONE in got[1] and EMAIL in got[1]
    assert f'"query": "Look up the customer record for {EMAIL}."' in got[2]
    assert IBAN in got[3] and SSN in got[3]
    assert run.failures == []
    assert "the reply arrived in" in out.getvalue()


def test_self_check_fails_when_a_value_leaks(monkeypatch: pytest.MonkeyPatch) -> None:
    def forward_raw(self: Pseudonymizer, scope: str, texts: Sequence[str], *args: object) -> Pseudonymized:
        return Pseudonymized(list(texts))

    monkeypatch.setattr(Pseudonymizer, "pseudonymize", forward_raw)
    console, out = _console()

    with pytest.raises(SystemExit) as exit_info:
        run_demo(console)

    assert exit_info.value.code == 1
    assert "Self-check failed: a raw email reached the upstream" in out.getvalue()
    assert EMAIL not in out.getvalue().split("Self-check failed", 1)[1]


def test_stand_in_streams_every_choice_and_calls_the_first_tool() -> None:
    standin = StandInUpstream()
    tool = {"type": "function", "function": {"name": "find", "parameters": {"properties": {"who": {}}}}}
    body = {
        "model": "m",
        "stream": True,
        "n": 2,
        "tools": [tool],
        "messages": [{"role": "user", "content": "hi <X_1>"}],
    }
    with TestClient(standin.app()) as client:
        lines = client.post("/v1/chat/completions", json=body).text.split("\n\n")

    events = [json.loads(line.removeprefix("data: ")) for line in lines if line.startswith("data: {")]
    assert lines[-2] == "data: [DONE]"
    content = {0: "", 1: ""}
    arguments = {0: "", 1: ""}
    for event in events:
        choice = event["choices"][0]
        content[choice["index"]] += choice["delta"].get("content") or ""
        for call in choice["delta"].get("tool_calls") or []:
            arguments[choice["index"]] += call["function"]["arguments"]
    assert content == {0: f"{LABEL} Calling find.", 1: f"{LABEL} Calling find."}
    assert json.loads(arguments[0]) == {"who": "hi <X_1>"}
    assert len(events) > 10
    assert standin.last_body == body
