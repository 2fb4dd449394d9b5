"""The benchmark's fake OpenAI upstream: raw asyncio HTTP/1.1 on loopback, as cheap as it gets.

Run as `python -m bench.upstream`; it prints its port on the first line of stdout. It runs
in its own process so that it neither shares the GIL with the client nor with Veil.

`POST /v1/chat/completions` answers a fixed small completion, or, with `"stream": true`,
`STREAM_DELTAS` word-sized deltas. A model name `paced-<ms>` spaces the deltas that many
milliseconds apart, like a real model producing tokens, and sends `PACED_DELTAS` of them.
The model name `echo` answers (not streamed) with the first `ECHO_SENTENCES` sentences of the
last user message, as a model quoting the prompt back would: through Veil it quotes tokens,
which Veil restores, so the client's copy of the reply holds the real values.
Each response goes out in as few writes as possible and every accepted socket has
TCP_NODELAY: without it, keep-alive requests stall ~40 ms on Nagle + delayed ACK.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from collections.abc import Callable

from bench.corpus import REPLY_TEXT, reply_deltas

STREAM_DELTAS = 200
PACED_DELTAS = 20
ECHO_SENTENCES = 3

_COMPLETION = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "gpt-4o-mini",
        "system_fingerprint": "fp_bench",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": REPLY_TEXT, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 300, "completion_tokens": 20, "total_tokens": 320},
    }
).encode()


def _echo_completion(request: dict[str, object]) -> bytes:
    messages = request.get("messages")
    last = ""
    if isinstance(messages, list):
        users = [m.get("content") for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        last = next((u for u in reversed(users) if isinstance(u, str)), "")
    quoted = ". ".join(last.split(". ")[:ECHO_SENTENCES]).rstrip(".")
    content = f"Thanks, I have noted this: {quoted}. I will get back to you shortly."
    document = json.loads(_COMPLETION)
    document["choices"][0]["message"]["content"] = content
    return json.dumps(document).encode()


def _event(delta: dict[str, object], finish_reason: str | None = None) -> bytes:
    chunk = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "gpt-4o-mini",
        "system_fingerprint": "fp_bench",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
    }
    data = b"data: " + json.dumps(chunk).encode() + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(data), data)


def _stream_events(count: int) -> list[bytes]:
    events = [_event({"role": "assistant", "content": ""})]
    events += [_event({"content": delta}) for delta in reply_deltas(count)]
    events.append(_event({}, "stop"))
    done = b"data: [DONE]\n\n"
    events.append(b"%x\r\n%s\r\n0\r\n\r\n" % (len(done), done))
    return events


_STREAM_EVENTS = _stream_events(STREAM_DELTAS)
_PACED_EVENTS = _stream_events(PACED_DELTAS)
_WHOLE_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n"
_STREAM_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
_MODELS = b'{"object": "list", "data": [{"id": "gpt-4o-mini", "object": "model"}]}'


class UpstreamProtocol(asyncio.Protocol):
    """One keep-alive connection; requests are answered in order."""

    def __init__(self) -> None:
        self._buffer = b""
        self._transport: asyncio.Transport | None = None
        self._busy = False
        self._paced: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if not self._busy:
            self._next()

    def _next(self) -> None:
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = self._buffer[:end].decode("latin-1").split("\r\n")
        length = 0
        for line in head[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        if len(self._buffer) < end + 4 + length:
            return
        body = self._buffer[end + 4 : end + 4 + length]
        self._buffer = self._buffer[end + 4 + length :]
        self._answer(head[0], body)

    def _answer(self, request_line: str, body: bytes) -> None:
        transport = self._transport
        assert transport is not None
        _, path, _ = request_line.split(" ", 2)
        if path.endswith("/chat/completions"):
            request = json.loads(body)
            model = str(request.get("model", ""))
            if model.startswith("paced-"):
                # Later requests on this connection wait until the paced stream is out.
                self._busy = True
                self._paced = asyncio.ensure_future(self._pace(int(model.removeprefix("paced-")) / 1000))
                return
            if model == "echo":
                echo = _echo_completion(request)
                transport.write(_WHOLE_HEAD % len(echo) + echo)
            elif request.get("stream"):
                transport.write(_STREAM_HEAD + b"".join(_STREAM_EVENTS))
            else:
                transport.write(_WHOLE_HEAD % len(_COMPLETION) + _COMPLETION)
        elif path.endswith("/models"):
            transport.write(_WHOLE_HEAD % len(_MODELS) + _MODELS)
        else:
            transport.write(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
        self._next()

    async def _pace(self, gap: float) -> None:
        transport = self._transport
        assert transport is not None
        transport.write(_STREAM_HEAD + _PACED_EVENTS[0])
        # The gap goes before each event, not after the last: the next request on this
        # connection must not wait for a pause that belongs to no delta.
        for event in _PACED_EVENTS[1:]:
            await asyncio.sleep(gap)
            transport.write(event)
        self._busy = False
        self._next()


async def _serve(protocol: Callable[[], asyncio.Protocol]) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(protocol, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


def serve(protocol: Callable[[], asyncio.Protocol]) -> None:
    """Serve `protocol` on a free loopback port, printed on the first line of stdout."""
    try:
        asyncio.run(_serve(protocol))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    serve(UpstreamProtocol)
