"""A fake OpenAI upstream that records every byte it receives.

Replies are scripted per test: by default it echoes the last user message (or the
Responses API's last user input, or the legacy prompt) back, as a whole reply or as a
stream of small deltas. It answers `/chat/completions`, `/responses` (with the API's
event sequence and `event:` lines), `/completions`, `/embeddings` and `/models`. It runs
behind `httpx.MockTransport`, so what it records is exactly what Veil put on the wire;
`asgi()` serves the same on a loopback port for out-of-process clients.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import json
import struct
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

Reply = Callable[[dict[str, Any]], "Script"]


@dataclass
class Script:
    """What the upstream answers: content per choice, tool calls, and how to chunk them."""

    contents: list[str] = field(default_factory=lambda: [""])
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # {"name", "arguments"}
    chunk: int = 3
    # The first content's deltas, exactly (instead of `chunk`-sized pieces).
    pieces: list[str] | None = None
    refusal: str | None = None  # responses: a refusal part after the output text
    response_status: str = "completed"  # responses: the terminal event's status
    embeddings: list[Any] | None = None  # embeddings: returned exactly (else made from the input)
    status: int = 200
    error: dict[str, Any] | None = None
    raw_stream: bytes | None = None  # sent verbatim as the SSE body, for malformed streams


def echo_last_user(body: dict[str, Any]) -> Script:
    return Script(contents=[f"You said: {last_user_text(body)}"] * int(body.get("n") or 1))


def last_user_text(body: dict[str, Any]) -> str:
    """The last thing the user said: a chat message, a Responses input, or a legacy prompt."""
    if "messages" in body:
        return next(
            (
                m["content"]
                for m in reversed(body["messages"])
                if m["role"] == "user" and isinstance(m["content"], str)
            ),
            "",
        )
    if isinstance(body.get("input"), str):
        return str(body["input"])
    if isinstance(body.get("input"), list):
        for item in reversed(body["input"]):
            if isinstance(item, dict) and item.get("role") == "user":
                content = item.get("content")
                if isinstance(content, str):
                    return content
                return "".join(p.get("text", "") for p in content if isinstance(p, dict))
        return ""
    prompt = body.get("prompt")
    if isinstance(prompt, list):
        prompt = prompt[0] if prompt and isinstance(prompt[0], str) else ""
    return prompt if isinstance(prompt, str) else ""


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
        # Responses kept at the provider (`store`, true by default), as `previous_response_id` needs.
        self.stored_responses: set[str] = set()

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(raw) for raw in self.raw_requests if raw]

    def seen(self) -> bytes:
        """Everything that reached the upstream: URLs, headers and bodies."""
        return b"\n".join(self.raw_headers + self.raw_requests + [p.encode() for p in self.paths])

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def asgi(self) -> Starlette:
        """The same upstream as an ASGI app, for a real server on a loopback port."""

        async def serve(request: Request) -> StreamingResponse:
            forwarded = httpx.Request(
                request.method, str(request.url), headers=request.headers.raw, content=await request.body()
            )
            response = self.handle(forwarded)
            headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
            body = response.stream if isinstance(response.stream, _Chunks) else _Chunks([response.content])
            return StreamingResponse(body, status_code=response.status_code, headers=headers)

        methods = ["GET", "POST", "DELETE"]
        return Starlette(routes=[Route("/{path:path}", serve, methods=methods)])

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
        path = request.url.path
        if path.endswith("/embeddings"):
            return httpx.Response(200, json=_embeddings(body, script))
        if path.endswith("/responses"):
            return self._responses(body, script)
        whole, stream = next(shape for suffix, shape in _SHAPES.items() if path.endswith(suffix))
        if body.get("stream"):
            return httpx.Response(
                200, headers={"content-type": "text/event-stream"}, stream=_Chunks(stream(body, script))
            )
        return httpx.Response(200, json=whole(body, script))

    def _responses(self, body: dict[str, Any], script: Script) -> httpx.Response:
        previous = body.get("previous_response_id")
        if previous is not None and previous not in self.stored_responses:
            # What OpenAI answers when the earlier response was not stored (`store: false`).
            error = {
                "message": f"Previous response with id '{previous}' not found.",
                "type": "invalid_request_error",
                "param": "previous_response_id",
                "code": "previous_response_not_found",
            }
            return httpx.Response(400, json={"error": error})
        response_id = f"resp_{len(self.raw_requests)}"
        if body.get("store", True):
            self.stored_responses.add(response_id)
        if body.get("stream"):
            events = _response_sse(body, script, response_id)
            return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=_Chunks(events))
        return httpx.Response(200, json=_response(body, script, response_id))


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


def _first_pieces(script: Script, text: str) -> list[str]:
    return script.pieces if script.pieces is not None else _pieces(text, script.chunk)


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
            for p in (_first_pieces(script, content) if i == 0 else _pieces(content, script.chunk))
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
    return _frames(body, envelope, events, {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2})


def _legacy_completion(body: dict[str, Any], script: Script) -> dict[str, Any]:
    return {
        "id": "cmpl-fake",
        "object": "text_completion",
        "created": 1700000000,
        "model": body["model"],
        "choices": [
            {"text": content, "index": i, "logprobs": None, "finish_reason": "stop"}
            for i, content in enumerate(script.contents)
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
    }


def _legacy_sse(body: dict[str, Any], script: Script) -> list[bytes]:
    envelope = {"id": "cmpl-fake", "object": "text_completion", "created": 1700000000, "model": body["model"]}
    chunks: list[dict[str, Any]] = []
    for i, content in enumerate(script.contents):
        pieces = _first_pieces(script, content) if i == 0 else _pieces(content, script.chunk)
        chunks.extend({"text": p, "index": i, "logprobs": None, "finish_reason": None} for p in pieces)
        chunks.append({"text": "", "index": i, "logprobs": None, "finish_reason": "stop"})
    return _frames(body, envelope, chunks, {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12})


def _frames(
    body: dict[str, Any], envelope: dict[str, Any], choices: list[dict[str, Any]], usage: dict[str, int]
) -> list[bytes]:
    """One SSE event per choice delta, the usage chunk when the request asked for it, [DONE]."""
    frames = [b"data: " + json.dumps({**envelope, "choices": [c]}).encode() + b"\n\n" for c in choices]
    if (body.get("stream_options") or {}).get("include_usage"):
        frames.append(b"data: " + json.dumps({**envelope, "choices": [], "usage": usage}).encode() + b"\n\n")
    frames.append(b"data: [DONE]\n\n")
    return frames


def _embeddings(body: dict[str, Any], script: Script) -> dict[str, Any]:
    inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
    if inputs and all(isinstance(i, int) for i in inputs):
        inputs = [inputs]  # one text as token ids
    vectors = [_vector(json.dumps(item)) for item in inputs]
    encoded: list[Any] = vectors
    if body.get("encoding_format") == "base64":
        encoded = [base64.b64encode(struct.pack(f"<{len(v)}f", *v)).decode() for v in vectors]
    if script.embeddings is not None:
        encoded = script.embeddings
    return {
        "object": "list",
        "data": [{"object": "embedding", "index": i, "embedding": e} for i, e in enumerate(encoded)],
        "model": body["model"],
        "usage": {"prompt_tokens": 4 * len(inputs), "total_tokens": 4 * len(inputs)},
    }


def _vector(text: str) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [round(b / 255, 4) for b in digest[:8]]


def _response_object(
    body: dict[str, Any], response_id: str, status: str, output: list[dict[str, Any]], usage: bool
) -> dict[str, Any]:
    return {
        "id": response_id,
        "object": "response",
        "created_at": 1700000000,
        "status": status,
        "model": body.get("model", "gpt-test"),
        "output": output,
        "instructions": body.get("instructions"),
        "tools": body.get("tools", []),
        "tool_choice": body.get("tool_choice", "auto"),
        "parallel_tool_calls": True,
        "text": body.get("text", {"format": {"type": "text"}}),
        "store": body.get("store", True),
        "metadata": body.get("metadata", {}),
        "previous_response_id": body.get("previous_response_id"),
        "temperature": 1.0,
        "top_p": 1.0,
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
        "usage": (
            {
                "input_tokens": 11,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": 13,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": 24,
            }
            if usage
            else None
        ),
    }


def _output_items(script: Script) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    text = script.contents[0] if script.contents else ""
    parts: list[dict[str, Any]] = []
    if text:
        parts.append({"type": "output_text", "text": text, "annotations": [], "logprobs": []})
    if script.refusal:
        parts.append({"type": "refusal", "refusal": script.refusal})
    if parts:
        items.append(
            {
                "id": "msg_fake",
                "type": "message",
                "status": "completed",
                "role": "assistant",
                "content": parts,
            }
        )
    items.extend(
        {
            "id": f"fc_{k}",
            "type": "function_call",
            "status": "completed",
            "call_id": f"call_{k}",
            "name": call["name"],
            "arguments": call["arguments"],
        }
        for k, call in enumerate(script.tool_calls)
    )
    return items


def _response(body: dict[str, Any], script: Script, response_id: str) -> dict[str, Any]:
    return _response_object(body, response_id, script.response_status, _output_items(script), usage=True)


def _response_sse(body: dict[str, Any], script: Script, response_id: str) -> list[bytes]:
    numbers = itertools.count()
    events: list[dict[str, Any]] = []

    def emit(event: dict[str, Any]) -> None:
        events.append({**event, "sequence_number": next(numbers)})

    started = _response_object(body, response_id, "in_progress", [], usage=False)
    emit({"type": "response.created", "response": started})
    emit({"type": "response.in_progress", "response": started})
    items = _output_items(script)
    first = True
    for index, item in enumerate(items):
        at = {"item_id": item["id"], "output_index": index}
        if item["type"] == "message":
            added = {**item, "status": "in_progress", "content": []}
            emit({"type": "response.output_item.added", "output_index": index, "item": added})
            for position, part in enumerate(item["content"]):
                field, family = (
                    ("text", "response.output_text")
                    if part["type"] == "output_text"
                    else ("refusal", "response.refusal")
                )
                where = {**at, "content_index": position}
                empty = {**part, field: ""}
                emit({"type": "response.content_part.added", **where, "part": empty})
                text = part[field]
                pieces = _first_pieces(script, text) if first else _pieces(text, script.chunk)
                first = False
                extra = {"logprobs": []} if field == "text" else {}
                for piece in pieces:
                    emit({"type": f"{family}.delta", **where, "delta": piece, **extra})
                emit({"type": f"{family}.done", **where, field: text, **extra})
                emit({"type": "response.content_part.done", **where, "part": part})
        else:
            added = {**item, "status": "in_progress", "arguments": ""}
            emit({"type": "response.output_item.added", "output_index": index, "item": added})
            for piece in _pieces(item["arguments"], script.chunk):
                emit({"type": "response.function_call_arguments.delta", **at, "delta": piece})
            emit({"type": "response.function_call_arguments.done", **at, "arguments": item["arguments"]})
        emit({"type": "response.output_item.done", "output_index": index, "item": item})
    final = _response_object(body, response_id, script.response_status, items, usage=True)
    emit({"type": f"response.{script.response_status}", "response": final})
    return [f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events]


Whole = Callable[[dict[str, Any], Script], Any]
Stream = Callable[[dict[str, Any], Script], list[bytes]]
# By path suffix, in order: what the upstream answers, whole and streamed.
_SHAPES: dict[str, tuple[Whole, Stream]] = {
    "/chat/completions": (_completion, _sse),
    "/completions": (_legacy_completion, _legacy_sse),
}
