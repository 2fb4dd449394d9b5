"""An upstream that answers whatever it is sent with a small valid reply for the path.

The fuzzing tests send Veil bodies that Veil forwards but the real provider would refuse
(a `temperature` of "hot", a `stream_options` that is a string): this upstream never looks
inside them, so any 5xx seen is Veil's own. Streams are OpenAI's shape, `[DONE]` or
`response.completed` included.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

TEXT = "Steady reply."


def steady_upstream(request: httpx.Request) -> httpx.Response:
    path = request.url.path
    try:
        body = json.loads(request.content)
    except ValueError:
        body = None
    streamed = isinstance(body, dict) and body.get("stream") is True
    if path.endswith("/models"):
        return httpx.Response(200, json={"object": "list", "data": [{"id": "m", "object": "model"}]})
    if path.endswith("/embeddings"):
        return httpx.Response(
            200, json={"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [0.5]}]}
        )
    if path.endswith("/responses"):
        return _sse(_responses_events()) if streamed else httpx.Response(200, json=_response())
    if path.endswith("/chat/completions"):
        choice = {"index": 0, "message": {"role": "assistant", "content": TEXT}, "finish_reason": "stop"}
        chunks = [
            {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": TEXT}}]},
            {
                "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
            },
            "[DONE]",
        ]
        whole = {"id": "chatcmpl-steady", "object": "chat.completion", "choices": [choice]}
        return _sse(chunks) if streamed else httpx.Response(200, json=whole)
    if path.endswith("/completions"):
        chunks = [
            {"object": "text_completion", "choices": [{"index": 0, "text": TEXT, "finish_reason": None}]},
            {"object": "text_completion", "choices": [{"index": 0, "text": "", "finish_reason": "stop"}]},
            "[DONE]",
        ]
        whole = {
            "object": "text_completion",
            "choices": [{"index": 0, "text": TEXT, "finish_reason": "stop"}],
        }
        return _sse(chunks) if streamed else httpx.Response(200, json=whole)
    return httpx.Response(404, json={"error": {"message": "unknown path", "type": "invalid_request_error"}})


def _response(status: str = "completed") -> dict[str, Any]:
    part = {"type": "output_text", "text": TEXT, "annotations": []}
    message = {"id": "msg_1", "type": "message", "role": "assistant", "status": status, "content": [part]}
    return {"id": "resp_steady", "object": "response", "status": status, "output": [message]}


def _responses_events() -> list[Any]:
    where = {"item_id": "msg_1", "output_index": 0, "content_index": 0}
    return [
        {"type": "response.created", "response": _response("in_progress")},
        {"type": "response.output_text.delta", **where, "delta": TEXT},
        {"type": "response.output_text.done", **where, "text": TEXT},
        {"type": "response.completed", "response": _response()},
    ]


def _sse(events: list[Any]) -> httpx.Response:
    frames = []
    for event in events:
        name = f"event: {event['type']}\n" if isinstance(event, dict) and "type" in event else ""
        data = event if isinstance(event, str) else json.dumps(event)
        frames.append(f"{name}data: {data}\n\n")
    return httpx.Response(
        200, headers={"content-type": "text/event-stream"}, content="".join(frames).encode()
    )
