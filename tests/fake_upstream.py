"""A fake OpenAI upstream that records every byte it receives.

Replies are scripted per test: by default it echoes the last user message back, as a
whole completion or as a stream of small deltas. It runs behind `httpx.MockTransport`,
so what it records is exactly what Veil put on the wire.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

Reply = Callable[[dict[str, Any]], "Script"]


@dataclass
class Script:
    """What the upstream answers: content per choice, tool calls, and how to chunk them."""

    contents: list[str] = field(default_factory=lambda: [""])
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # {"name", "arguments"}
    chunk: int = 3
    status: int = 200
    error: dict[str, Any] | None = None
    raw_stream: bytes | None = None  # sent verbatim as the SSE body, for malformed streams


def echo_last_user(body: dict[str, Any]) -> Script:
    text = next(
        (
            m["content"]
            for m in reversed(body["messages"])
            if m["role"] == "user" and isinstance(m["content"], str)
        ),
        "",
    )
    return Script(contents=[f"You said: {text}"] * int(body.get("n") or 1))


class _Chunks(httpx.AsyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            await asyncio.sleep(0)  # let concurrent streams interleave
            yield chunk


class FakeUpstream:
    def __init__(self, reply: Reply = echo_last_user) -> None:
        self.reply = reply
        self.raw_requests: list[bytes] = []
        self.raw_headers: list[bytes] = []
        self.paths: list[str] = []

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(raw) for raw in self.raw_requests if raw]

    def seen(self) -> bytes:
        """Everything that reached the upstream: URLs, headers and bodies."""
        return b"\n".join(self.raw_headers + self.raw_requests + [p.encode() for p in self.paths])

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(str(request.url))
        self.raw_headers.append(b"\n".join(k + b": " + v for k, v in request.headers.raw))
        self.raw_requests.append(request.content)
        if request.url.path.endswith("/models"):
            return httpx.Response(
                200, json={"object": "list", "data": [{"id": "gpt-test", "object": "model"}]}
            )
        body = json.loads(request.content)
        script = self.reply(body)
        if script.status != 200:
            return httpx.Response(
                script.status, json={"error": script.error or {"message": "upstream says no"}}
            )
        if script.raw_stream is not None:
            return httpx.Response(
                200, headers={"content-type": "text/event-stream"}, content=script.raw_stream
            )
        if body.get("stream"):
            return httpx.Response(
                200, headers={"content-type": "text/event-stream"}, stream=_Chunks(_sse(body, script))
            )
        return httpx.Response(200, json=_completion(body, script))


def _message(content: str, tool_calls: list[dict[str, Any]]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content or None}
    if tool_calls:
        message["tool_calls"] = [
            {
                "id": f"call_{i}",
                "type": "function",
                "function": {"name": t["name"], "arguments": t["arguments"]},
            }
            for i, t in enumerate(tool_calls)
        ]
    return message


def _completion(body: dict[str, Any], script: Script) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1700000000,
        "model": body["model"],
        "choices": [
            {
                "index": i,
                "message": _message(content, script.tool_calls if i == 0 else []),
                "finish_reason": "tool_calls" if script.tool_calls and i == 0 else "stop",
            }
            for i, content in enumerate(script.contents)
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
    }


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _sse(body: dict[str, Any], script: Script) -> list[bytes]:
    envelope = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": body["model"],
    }
    events: list[dict[str, Any]] = []
    for i, content in enumerate(script.contents):
        events.append({"index": i, "delta": {"role": "assistant", "content": ""}, "finish_reason": None})
        events.extend(
            {"index": i, "delta": {"content": p}, "finish_reason": None}
            for p in _pieces(content, script.chunk)
        )
        if i == 0:
            for k, call in enumerate(script.tool_calls):
                first = {
                    "index": k,
                    "id": f"call_{k}",
                    "type": "function",
                    "function": {"name": call["name"], "arguments": ""},
                }
                events.append({"index": 0, "delta": {"tool_calls": [first]}, "finish_reason": None})
                events.extend(
                    {
                        "index": 0,
                        "delta": {"tool_calls": [{"index": k, "function": {"arguments": p}}]},
                        "finish_reason": None,
                    }
                    for p in _pieces(call["arguments"], script.chunk)
                )
        finish = "tool_calls" if script.tool_calls and i == 0 else "stop"
        events.append({"index": i, "delta": {}, "finish_reason": finish})
    frames = [b"data: " + json.dumps({**envelope, "choices": [e]}).encode() + b"\n\n" for e in events]
    if (body.get("stream_options") or {}).get("include_usage"):
        usage = {
            **envelope,
            "choices": [],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
        frames.append(b"data: " + json.dumps(usage).encode() + b"\n\n")
    frames.append(b"data: [DONE]\n\n")
    return frames
