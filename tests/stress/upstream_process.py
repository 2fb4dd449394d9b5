"""A fake OpenAI upstream in a process of its own, which watches what reaches it.

Run as a script (`UpstreamProcess` does that) it serves raw asyncio HTTP/1.1 on two
loopback ports and prints them: the service port, where Veil sends its requests, and a
control port, where the test reads what the service port received (`GET /stats`). The
control port is apart so that nothing a client of Veil can reach is ever mistaken for the
test's own calls.

Under its base path (`/<base>/v1`) it answers chat completions by echoing the last user
message (`You said: …`), whole or as a stream of `CHUNK`-character deltas (a value split
across deltas is the common case); a model named `paced-<ms>` spaces the deltas that many
milliseconds apart, like a model producing tokens. Responses, completions, embeddings and
models get a small valid answer; a chat model named `redirect-to:<url>` gets a 307 to that
URL, one named `status-<code>` that status with an error quoting the last user message.
Anything outside the base path gets 404 and is counted.

What it counts: requests per path, the Host headers and bearer keys it saw, and the bodies
holding a match of the `--forbid` pattern (values that must never leave Veil).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import socket
import subprocess
import sys
from collections import Counter
from http import HTTPStatus
from pathlib import Path
from typing import Any

import httpx

CHUNK = 4
_WHOLE = b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n"
_STREAM = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"


class Watch:
    """What the service port has seen."""

    def __init__(self, base: str, forbid: re.Pattern[str] | None) -> None:
        self.base = base
        self.forbid = forbid
        self.requests = 0
        self.paths: Counter[str] = Counter()
        self.outside_base: Counter[str] = Counter()
        self.hosts: Counter[str] = Counter()
        self.keys: Counter[str] = Counter()
        self.forbidden_bodies = 0
        self.forbidden_samples: list[str] = []
        self.tokens_seen = 0

    def saw(self, method: str, target: str, headers: dict[str, str], body: bytes) -> None:
        self.requests += 1
        key = f"{method} {target}"
        self.paths[key] += 1
        if not target.startswith(self.base + "/"):
            self.outside_base[key] += 1
        self.hosts[headers.get("host", "")] += 1
        self.keys[headers.get("authorization", "")] += 1
        text = body.decode("utf-8", "replace")
        self.tokens_seen += len(re.findall(r"<[A-Z_]+_\d+>", text))
        if self.forbid is not None and (found := self.forbid.search(text)):
            self.forbidden_bodies += 1
            if len(self.forbidden_samples) < 5:
                self.forbidden_samples.append(found.group())

    def stats(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "paths": dict(self.paths),
            "outside_base": dict(self.outside_base),
            "hosts": dict(self.hosts),
            "keys": dict(self.keys),
            "forbidden_bodies": self.forbidden_bodies,
            "forbidden_samples": self.forbidden_samples,
            "tokens_seen": self.tokens_seen,
        }


class HttpConnection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection; requests are answered in order. Bodies come with
    content-length (what httpx sends)."""

    def __init__(self, watch: Watch, *, control: bool) -> None:
        self._watch = watch
        self._control = control
        self._buffer = b""
        self._transport: asyncio.Transport | None = None
        self._busy = False
        self._tasks: set[asyncio.Task[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        # Without it, keep-alive requests stall ~40 ms on Nagle + delayed ACK.
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if not self._busy:
            self._next()

    def _next(self) -> None:
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        lines = self._buffer[:end].decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        if len(self._buffer) < end + 4 + length:
            return
        body = self._buffer[end + 4 : end + 4 + length]
        self._buffer = self._buffer[end + 4 + length :]
        method, target, _ = [*lines[0].split(" ", 2), "", ""][:3]
        self._busy = True
        task = asyncio.ensure_future(self._answer(method, target, headers, body))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, method: str, target: str, headers: dict[str, str], body: bytes) -> None:
        transport = self._transport
        assert transport is not None
        if self._control:
            self._whole(200, json.dumps(self._watch.stats()).encode())
        else:
            self._watch.saw(method, target, headers, body)
            await self._serve(target, body)
        self._busy = False
        if not transport.is_closing():
            self._next()

    async def _serve(self, target: str, body: bytes) -> None:
        base = self._watch.base
        path = target.split("?", 1)[0]
        if not path.startswith(base + "/"):
            self._whole(404, b'{"error": {"message": "not here", "type": "not_found"}}')
            return
        path = path.removeprefix(base)
        request = json.loads(body) if body else {}
        model = str(request.get("model", "")) if isinstance(request, dict) else ""
        if path == "/chat/completions" and model.startswith("redirect-to:"):
            self._redirect(model.removeprefix("redirect-to:"))
        elif path == "/chat/completions" and model.startswith("status-"):
            # An error that quotes the request back, as providers' errors sometimes do.
            error = {"message": f"refused: {_last_user(request)}", "type": "invalid_request_error"}
            self._whole(int(model.removeprefix("status-")), json.dumps({"error": error}).encode())
        elif path == "/chat/completions":
            await self._chat(request)
        elif path == "/models" or path.startswith("/models/"):
            self._whole(
                200, json.dumps({"object": "list", "data": [{"id": "m", "object": "model"}]}).encode()
            )
        elif path == "/embeddings":
            vector = {"object": "embedding", "index": 0, "embedding": [0.0, 1.0]}
            self._whole(200, json.dumps({"object": "list", "data": [vector], "model": "m"}).encode())
        elif path in ("/responses", "/completions"):
            self._whole(200, json.dumps({"id": "x", "object": "response", "output": []}).encode())
        else:
            self._whole(404, b'{"error": {"message": "unknown path", "type": "not_found"}}')

    async def _chat(self, request: dict[str, Any]) -> None:
        text = "You said: " + _last_user(request)
        model = str(request.get("model", ""))
        head = {"id": "chatcmpl-watched", "created": 1700000000, "model": model}
        if not request.get("stream"):
            message = {"role": "assistant", "content": text, "refusal": None}
            choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}
            self._whole(200, json.dumps({**head, "object": "chat.completion", "choices": [choice]}).encode())
            return

        def event(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            chunk = {**head, "object": "chat.completion.chunk", "choices": [choice]}
            return _chunk(b"data: " + json.dumps(chunk).encode() + b"\n\n")

        events = [event({"role": "assistant", "content": ""})]
        events += [event({"content": text[i : i + CHUNK]}) for i in range(0, len(text), CHUNK)]
        events += [event({}, "stop"), _chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n"]
        transport = self._transport
        assert transport is not None
        gap = int(model.removeprefix("paced-")) / 1000 if model.startswith("paced-") else 0.0
        if not gap:
            transport.write(_STREAM + b"".join(events))
            return
        transport.write(_STREAM + events[0])
        for data in events[1:]:
            await asyncio.sleep(gap)
            if transport.is_closing():
                return
            transport.write(data)

    def _redirect(self, location: str) -> None:
        assert self._transport is not None
        head = f"HTTP/1.1 307 Temporary Redirect\r\nlocation: {location}\r\ncontent-length: 0\r\n\r\n"
        self._transport.write(head.encode("latin-1"))

    def _whole(self, status: int, payload: bytes) -> None:
        assert self._transport is not None
        reason = HTTPStatus(status).phrase.encode()
        self._transport.write(_WHOLE % (status, reason, len(payload)) + payload)


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def _last_user(request: dict[str, Any]) -> str:
    messages = request.get("messages")
    if not isinstance(messages, list):
        return ""
    said = [m.get("content") for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    return next((text for text in reversed(said) if isinstance(text, str)), "")


async def _serve(base: str, forbid: str | None) -> None:
    watch = Watch(base, re.compile(forbid) if forbid else None)
    loop = asyncio.get_running_loop()
    service = await loop.create_server(lambda: HttpConnection(watch, control=False), "127.0.0.1", 0)
    control = await loop.create_server(lambda: HttpConnection(watch, control=True), "127.0.0.1", 0)
    ports = [server.sockets[0].getsockname()[1] for server in (service, control)]
    print(*ports, flush=True)
    async with service, control:
        await asyncio.gather(service.serve_forever(), control.serve_forever())


class UpstreamProcess:
    """Starts this module as a child process; `url` is the base URL to give Veil."""

    def __init__(self, *, base: str = "/watched/v1", forbid: str | None = None) -> None:
        self.base = base
        self._command = [sys.executable, str(Path(__file__)), "--base", base]
        if forbid:
            self._command += ["--forbid", forbid]
        self._process: subprocess.Popen[str] | None = None
        self.url = ""
        self._control = ""

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def __enter__(self) -> UpstreamProcess:
        self._process = subprocess.Popen(
            self._command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self._process.stdout is not None
        service, control = self._process.stdout.readline().split()
        self.url = f"http://127.0.0.1:{service}{self.base}"
        self._control = f"http://127.0.0.1:{control}"
        return self

    def __exit__(self, *exc: object) -> None:
        process = self._process
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = httpx.get(self._control + "/stats", timeout=10).json()
        return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", default="/watched/v1")
    parser.add_argument("--forbid", default=None)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.base.rstrip("/"), args.forbid))
