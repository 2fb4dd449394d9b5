"""A stand-in for the OpenAI API, so Veil can be shown working without a network or a key.

It speaks just enough Chat Completions (whole and streamed replies, `n`, tool calls) and
`GET /v1/models`, and it answers by echoing what it received, so whatever Veil sent out
is visible in the reply. Every reply says it comes from the stand-in: nothing here may
be mistaken for a model's answer. It keeps every request it received, byte for byte,
which is what the demo shows as "what the upstream saw" and what its leak check scans.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

LABEL = "[stand-in upstream]"
MODEL = "veil-stand-in"
# Small pieces, like a real model's tokens, so a stream exercises Veil's hold-back.
DELTA_CHARS = 4


class StandInUpstream:
    """The stand-in API. `app()` is the ASGI app; `received` and `last_body` are what it saw."""

    def __init__(self, delta_chars: int = DELTA_CHARS) -> None:
        self._delta_chars = delta_chars
        self._lock = threading.Lock()
        self._received: list[bytes] = []
        self._last_body: dict[str, Any] | None = None
        self._replies = 0

    @property
    def received(self) -> list[bytes]:
        """Every request as it arrived: request line, headers and body."""
        with self._lock:
            return list(self._received)

    @property
    def last_body(self) -> dict[str, Any] | None:
        """The last Chat Completions body received, parsed."""
        with self._lock:
            return self._last_body

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/chat/completions", self._chat_completions, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
            ]
        )

    async def _record(self, request: Request) -> bytes:
        body = await request.body()
        head = f"{request.method} {request.url.path}?{request.url.query}\n".encode()
        headers = b"\n".join(name + b": " + value for name, value in request.headers.raw)
        with self._lock:
            self._received.append(head + headers + b"\n\n" + body)
        return body

    async def _models(self, request: Request) -> Response:
        await self._record(request)
        return JSONResponse(
            {
                "object": "list",
                "data": [{"id": MODEL, "object": "model", "created": 0, "owned_by": "veil-demo"}],
            }
        )

    async def _chat_completions(self, request: Request) -> Response:
        raw = await self._record(request)
        try:
            body = json.loads(raw)
            messages = body["messages"]
            if not isinstance(messages, list) or not messages:
                raise ValueError
        except (ValueError, KeyError, TypeError):
            return _error(400, f"{LABEL} expected a JSON body with a non-empty 'messages' array.")
        with self._lock:
            self._last_body = body
            self._replies += 1
            reply_id = f"chatcmpl-standin-{self._replies}"
        answer = _answer(body)
        n = body.get("n")
        choices = n if isinstance(n, int) and 1 <= n <= 8 else 1
        if body.get("stream"):
            return StreamingResponse(
                self._events(body, answer, choices, reply_id),
                media_type="text/event-stream",
                headers={"cache-control": "no-cache"},
            )
        return JSONResponse(_completion(body, answer, choices, reply_id))

    def _events(self, body: dict[str, Any], answer: Answer, choices: int, reply_id: str) -> Iterator[bytes]:
        envelope = {
            "id": reply_id,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": _model(body),
        }

        def event(payload: dict[str, Any]) -> bytes:
            return b"data: " + json.dumps({**envelope, **payload}).encode() + b"\n\n"

        for index in range(choices):
            yield event({"choices": [_delta(index, {"role": "assistant", "content": ""})]})
            for piece in _pieces(answer.text, self._delta_chars):
                yield event({"choices": [_delta(index, {"content": piece})]})
            if answer.tool_call is not None:
                name, arguments = answer.tool_call
                call_id = f"call_standin_{index}"
                opening = {
                    "index": 0,
                    "id": call_id,
                    "type": "function",
                    "function": {"name": name, "arguments": ""},
                }
                yield event({"choices": [_delta(index, {"tool_calls": [opening]})]})
                for piece in _pieces(arguments, self._delta_chars):
                    more = {"index": 0, "function": {"arguments": piece}}
                    yield event({"choices": [_delta(index, {"tool_calls": [more]})]})
            yield event({"choices": [_delta(index, {}, answer.finish_reason)]})
        if (body.get("stream_options") or {}).get("include_usage"):
            yield event({"choices": [], "usage": _usage(body, answer, choices)})
        yield b"data: [DONE]\n\n"


@dataclass(frozen=True, slots=True)
class Answer:
    """What the stand-in says: a labeled text, and maybe one call (name, arguments) to a tool."""

    text: str
    tool_call: tuple[str, str] | None = None

    @property
    def finish_reason(self) -> str:
        return "tool_calls" if self.tool_call is not None else "stop"


def _answer(body: dict[str, Any]) -> Answer:
    messages = body["messages"]
    last = messages[-1] if isinstance(messages[-1], dict) else {}
    tool = _first_function(body.get("tools"))
    if last.get("role") == "tool":
        return Answer(f"{LABEL} The tool returned: {_text(last.get('content'))}")
    if tool is not None and last.get("role") == "user":
        name, argument = tool
        said = _text(last.get("content"))
        return Answer(f"{LABEL} Calling {name}.", (name, json.dumps({argument: said}, ensure_ascii=False)))
    said = next(
        (
            _text(m.get("content"))
            for m in reversed(messages)
            if isinstance(m, dict) and m.get("role") == "user"
        ),
        "",
    )
    return Answer(f"{LABEL} You said: {said}")


def _first_function(tools: Any) -> tuple[str, str] | None:
    """The first function tool's name and the name of its first parameter ("query" if none)."""
    for tool in tools if isinstance(tools, list) else ():
        function = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            parameters = function.get("parameters")
            properties = parameters.get("properties") if isinstance(parameters, dict) else None
            first = next(iter(properties), None) if isinstance(properties, dict) else None
            return function["name"], first if isinstance(first, str) else "query"
    return None


def _text(content: Any) -> str:
    """A message's text, whether a string or a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def _model(body: dict[str, Any]) -> str:
    model = body.get("model")
    return model if isinstance(model, str) else MODEL


def _delta(index: int, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
    return {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish_reason}


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def _usage(body: dict[str, Any], answer: Answer, choices: int) -> dict[str, int]:
    # Not a tokenizer: a rough count, clearly approximate, so clients that read usage work.
    prompt = len(json.dumps(body.get("messages"))) // 4
    completion = choices * (len(answer.text) + len(answer.tool_call[1] if answer.tool_call else "")) // 4
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _completion(body: dict[str, Any], answer: Answer, choices: int, reply_id: str) -> dict[str, Any]:
    return {
        "id": reply_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": _model(body),
        "choices": [
            {
                "index": index,
                "message": _message(answer, index),
                "logprobs": None,
                "finish_reason": answer.finish_reason,
            }
            for index in range(choices)
        ],
        "usage": _usage(body, answer, choices),
    }


def _message(answer: Answer, index: int) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": answer.text, "refusal": None}
    if answer.tool_call is not None:
        name, arguments = answer.tool_call
        message["tool_calls"] = [
            {
                "id": f"call_standin_{index}",
                "type": "function",
                "function": {"name": name, "arguments": arguments},
            }
        ]
    return message


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse(
        {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}},
        status_code=status,
    )
