"""`veil demo`: Veil between the official SDK and a stand-in upstream, all offline.

Both servers run on free loopback ports in background threads. A four-step conversation
(plain, streamed, a tool call, a tool result) is printed side by side: what the app
sent, what the upstream saw, what the app got back. The demo then checks its own claim:
if any raw value reached the stand-in, or a reply came back still masked, it exits 1.
"""

from __future__ import annotations

import importlib.util
import json
import socket
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import uvicorn
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from veil.app import create_app
from veil.config import Settings
from veil.standin import LABEL, StandInUpstream

if TYPE_CHECKING:
    from openai import OpenAI
    from starlette.types import ASGIApp

MODEL = "gpt-4o-mini"
EMAIL = "jane.doe@example.com"
PHONE = "+1 415-555-2671"
CARD = "4111 1111 1111 1111"
AWS_KEY = "AKIAIOSFODNN7EXAMPLF"
IBAN = "DE89370400440532013000"
SSN = "078-05-1121"
# Every value the app hands Veil during the demo; none may reach the stand-in in any form.
VALUES = (EMAIL, PHONE, CARD, AWS_KEY, IBAN, SSN)

SYSTEM = "You are a support assistant for an online shop."
FIRST = (
    f"Please update my account: write to {EMAIL} or call {PHONE}. Replace the card on file, "
    f"{CARD}, and rotate the access key {AWS_KEY} that was pasted in a ticket."
)
SECOND = f"Before you change anything, read it back: is {PHONE} the right number for {EMAIL}?"
THIRD = f"Look up the customer record for {EMAIL}."
LOOKUP_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "lookup_customer",
        "description": "Find a customer record by email address or phone number.",
        "parameters": {
            "type": "object",
            "properties": {"query": {"type": "string", "description": "An email address or phone number."}},
            "required": ["query"],
        },
    },
}


class LoopbackServer:
    """An ASGI app served by uvicorn on a free 127.0.0.1 port, in a background thread."""

    def __init__(self, app: ASGIApp, *, start_timeout: float = 10.0) -> None:
        self._server = uvicorn.Server(
            # log_config=None: a demo must not reconfigure the caller's logging.
            uvicorn.Config(app, log_config=None, log_level="warning", access_log=False, lifespan="on")
        )
        # proto=IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted sockets only when it is
        # set, and without it every keep-alive request stalls ~40 ms on Nagle + delayed ACK.
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )
        self._start_timeout = start_timeout
        self.url = ""

    def __enter__(self) -> LoopbackServer:
        # Bound here, not by uvicorn, so the port is known before the thread starts.
        self._socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self._thread.start()
        deadline = time.monotonic() + self._start_timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise RuntimeError("a demo server did not start")
            time.sleep(0.005)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self._socket.close()


@dataclass
class Turn:
    """One exchange as the app and the upstream each saw it."""

    title: str
    sent: list[dict[str, Any]]
    seen: list[dict[str, Any]]
    got: str
    receipt: str
    notes: list[str] = field(default_factory=list)


@dataclass
class DemoRun:
    """What happened: the turns, every request the stand-in received, and what went wrong."""

    turns: list[Turn]
    upstream_received: list[bytes]
    failures: list[str]


def run_demo(console: Console | None = None) -> DemoRun:
    """Run the demo and print it. Raises SystemExit(1) when its self-check fails."""
    console = console or Console()
    if importlib.util.find_spec("openai") is None:
        # A dev extra of Veil, not a runtime dependency: say so instead of a traceback.
        console.print("The demo drives Veil with the official OpenAI SDK; install it: pip install openai")
        raise SystemExit(2)
    from openai import APIError

    standin = StandInUpstream()
    with (
        tempfile.TemporaryDirectory(prefix="veil-demo-") as data_dir,
        LoopbackServer(standin.app()) as upstream,
    ):
        settings = Settings(
            upstream_base_url=upstream.url + "/v1",
            vault="memory",
            data_dir=Path(data_dir),
            # Explicitly none: an OPENAI_API_KEY in the environment must not be sent, even to a stand-in.
            upstream_api_key=None,
        )
        with LoopbackServer(create_app(settings)) as veil:
            console.print(
                Text.assemble(("Veil demo", "bold"), f": app → Veil {veil.url} → stand-in {upstream.url}")
            )
            console.print(
                Text("Everything is local; the upstream is a stand-in that echoes what it receives.\n")
            )
            try:
                turns = _conversation(veil.url, standin)
            except APIError as error:
                # Veil fails closed with an OpenAI-shaped error; the demo reports it and stops.
                console.print(Text(f"Veil answered with an error: {error.message}", style="bold red"))
                raise SystemExit(1) from None
    run = DemoRun(turns, standin.received, [])
    for turn in turns:
        _show(console, turn)
    run.failures.extend(_leaks(run.upstream_received))
    run.failures.extend(
        note.removeprefix("FAIL ") for turn in turns for note in turn.notes if note.startswith("FAIL ")
    )
    _verdict(console, run)
    if run.failures:
        raise SystemExit(1)
    return run


def _conversation(veil_url: str, standin: StandInUpstream) -> list[Turn]:
    from openai import OpenAI

    with OpenAI(base_url=veil_url + "/v1", api_key="demo", max_retries=0) as client:
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": FIRST},
        ]
        turns = [_plain(client, standin, messages)]
        messages += [{"role": "assistant", "content": turns[0].got}, {"role": "user", "content": SECOND}]
        turns.append(_streamed(client, standin, messages))
        messages += [{"role": "assistant", "content": turns[1].got}, {"role": "user", "content": THIRD}]
        call_turn, call = _tool_call(client, standin, messages)
        turns.append(call_turn)
        if call is not None:
            turns.append(_tool_result(client, standin, messages, call))
        return turns


def _plain(client: OpenAI, standin: StandInUpstream, messages: list[dict[str, Any]]) -> Turn:
    raw = client.chat.completions.with_raw_response.create(model=MODEL, messages=messages)  # type: ignore[arg-type]
    got = raw.parse().choices[0].message.content or ""
    turn = _turn("Turn 1 · a plain request", messages, [1], standin, got, raw.headers)
    _expect(turn, got == f"{LABEL} You said: {FIRST}", "every value came back restored")
    return turn


def _streamed(client: OpenAI, standin: StandInUpstream, messages: list[dict[str, Any]]) -> Turn:
    from openai import Stream

    first_seen = (standin.last_body or {}).get("messages", [None, None])[1]
    raw = client.chat.completions.with_raw_response.create(model=MODEL, messages=messages, stream=True)  # type: ignore[arg-type]
    stream = raw.parse()
    if not isinstance(stream, Stream):
        raise TypeError("asked for a stream, got a whole completion")
    chunks = [chunk for chunk in stream if chunk.choices]
    got = "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
    turn = _turn("Turn 2 · streamed, with the history re-sent", messages, [1, 3], standin, got, raw.headers)
    turn.notes.append(f"the reply arrived in {len(chunks)} chunks")
    resent = (standin.last_body or {}).get("messages", [None, None])[1]
    _expect(turn, resent == first_seen, "the re-sent turn-1 message carried the same tokens as in turn 1")
    _expect(turn, got == f"{LABEL} You said: {SECOND}", "the streamed reply came back restored")
    return turn


def _tool_call(
    client: OpenAI, standin: StandInUpstream, messages: list[dict[str, Any]]
) -> tuple[Turn, dict[str, Any] | None]:
    raw = client.chat.completions.with_raw_response.create(
        model=MODEL,
        messages=messages,  # type: ignore[arg-type]
        tools=[LOOKUP_TOOL],  # type: ignore[list-item]
    )
    message = raw.parse().choices[0].message
    calls = [c for c in message.tool_calls or [] if c.type == "function"]
    call = None
    if calls:
        call = {"id": calls[0].id, "name": calls[0].function.name, "arguments": calls[0].function.arguments}
    got = (
        f"{message.content or ''}\n→ {call['name']}({call['arguments']})" if call else (message.content or "")
    )
    turn = _turn("Turn 3 · a tool call", messages, [len(messages) - 1], standin, got, raw.headers)
    arguments = _json_object(call["arguments"]) if call else {}
    _expect(
        turn, arguments.get("query") == THIRD, "the tool call's arguments came back restored, as valid JSON"
    )
    if call is not None:
        messages.append(
            {
                "role": "assistant",
                "content": message.content,
                "tool_calls": [
                    {
                        "id": call["id"],
                        "type": "function",
                        "function": {"name": call["name"], "arguments": call["arguments"]},
                    }
                ],
            }
        )
    return turn, call


def _tool_result(
    client: OpenAI, standin: StandInUpstream, messages: list[dict[str, Any]], call: dict[str, Any]
) -> Turn:
    # The app's own tool runs locally and answers with more personal data.
    record = {"customer_id": "C-1042", "email": EMAIL, "phone": PHONE, "iban": IBAN, "ssn": SSN}
    messages.append({"role": "tool", "tool_call_id": call["id"], "content": json.dumps(record)})
    raw = client.chat.completions.with_raw_response.create(
        model=MODEL,
        messages=messages,  # type: ignore[arg-type]
        tools=[LOOKUP_TOOL],  # type: ignore[list-item]
    )
    got = raw.parse().choices[0].message.content or ""
    shown = [len(messages) - 2, len(messages) - 1]
    turn = _turn(
        "Turn 3, continued · the tool's result goes back", messages, shown, standin, got, raw.headers
    )
    _expect(
        turn, got == f"{LABEL} The tool returned: {json.dumps(record)}", "the tool result came back restored"
    )
    return turn


def _turn(
    title: str,
    messages: Sequence[dict[str, Any]],
    shown: Sequence[int],
    standin: StandInUpstream,
    got: str,
    headers: Mapping[str, str],
) -> Turn:
    seen = (standin.last_body or {}).get("messages") or []
    return Turn(
        title=title,
        sent=[messages[i] for i in shown],
        seen=[seen[i] for i in shown if i < len(seen)],
        got=got,
        receipt=headers.get("x-veil-redactions", "(missing)"),
    )


def _expect(turn: Turn, ok: bool, claim: str) -> None:
    turn.notes.append(f"ok   {claim}" if ok else f"FAIL {claim}")


def _json_object(text: str) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def _leaks(received: Sequence[bytes]) -> list[str]:
    """Which demo values reached the stand-in, raw, JSON-escaped or percent-encoded (named by kind only)."""
    seen = b"\n".join(received)
    names = ("email", "phone", "card", "AWS key", "IBAN", "SSN")
    return [
        f"a raw {name} reached the upstream"
        for name, value in zip(names, VALUES, strict=True)
        if any(form in seen for form in _forms(value))
    ]


def _forms(value: str) -> list[bytes]:
    return [
        value.encode(),
        json.dumps(value)[1:-1].encode(),
        urllib.parse.quote(value, safe="").encode(),
        urllib.parse.quote_plus(value).encode(),
    ]


def _show(console: Console, turn: Turn) -> None:
    console.rule(Text(turn.title, style="bold"))
    table = Table(expand=True, show_lines=False)
    # fold, never crop: a cut-off value would hide exactly what the demo is about.
    table.add_column("What the app sent", ratio=1, overflow="fold")
    table.add_column("What the upstream saw", ratio=1, overflow="fold", style="yellow")
    table.add_column("What the app got back", ratio=1, overflow="fold")
    table.add_row(_messages(turn.sent), _messages(turn.seen), Text(turn.got))
    console.print(table)
    console.print(Text.assemble(("x-veil-redactions: ", "bold"), (turn.receipt, "cyan")), soft_wrap=True)
    for note in turn.notes:
        style = "red" if note.startswith("FAIL") else "green"
        console.print(Text(note, style=style))
    console.print()


def _messages(messages: Sequence[dict[str, Any]]) -> Group:
    lines = []
    for message in messages:
        line = Text.assemble((f"{message.get('role')}: ", "bold"), str(message.get("content") or ""))
        for call in message.get("tool_calls") or []:
            function = call.get("function") or {}
            line.append(f"\n→ {function.get('name')}({function.get('arguments')})")
        lines.append(line)
    return Group(*lines)


def _verdict(console: Console, run: DemoRun) -> None:
    requests = len(run.upstream_received)
    if run.failures:
        for failure in run.failures:
            console.print(Text(f"Self-check failed: {failure}", style="bold red"))
        return
    console.print(
        Text(
            f"Self-check passed: none of the {len(VALUES)} values reached the stand-in in {requests} "
            "requests (raw, JSON-escaped or percent-encoded), and every reply came back restored.",
            style="bold green",
        )
    )
