"""The fake upstream of `bench.upstream`, which also keeps what it was sent.

Run as `python -m bench.peers.upstream`; like `bench.upstream` it prints its port on the first
line of stdout, and answers with the same bytes. Besides:
- it keeps the last chat request bodies it received, and `GET /recorded` answers the latest
  one: what a gateway let through to the provider (meaningful while one request is in flight);
- the model `mirror` (not streamed) answers with the last user message exactly as received,
  as a model quoting the prompt back would: through a gateway that restores its placeholders,
  the client gets back what it sent.
"""

from __future__ import annotations

import json
from collections import deque

from bench.upstream import UpstreamProtocol, serve

MIRROR = "mirror"
_RECORDED: deque[bytes] = deque(maxlen=8)
_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n"


class RecordingProtocol(UpstreamProtocol):
    """`bench.upstream`'s protocol; chat bodies are kept, `/recorded` answers the newest."""

    def _answer(self, request_line: str, body: bytes) -> None:
        _, path, _ = request_line.split(" ", 2)
        if path.endswith("/chat/completions"):
            _RECORDED.append(body)
            request = json.loads(body)
            if request.get("model") == MIRROR and not request.get("stream"):
                self._write(_mirrored(request))
                return
        elif path == "/recorded":
            self._write(_RECORDED[-1] if _RECORDED else b"{}")
            return
        super()._answer(request_line, body)

    def _write(self, body: bytes) -> None:
        assert self._transport is not None
        self._transport.write(_HEAD % len(body) + body)
        self._next()


def _mirrored(request: dict[str, object]) -> bytes:
    messages = request.get("messages")
    users = (
        [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        if isinstance(messages, list)
        else []
    )
    content = users[-1].get("content") if users else ""
    choice = {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
    document = {
        "id": "chatcmpl-mirror",
        "object": "chat.completion",
        "created": 1700000000,
        "model": MIRROR,
        "choices": [choice],
        "usage": {"prompt_tokens": 100, "completion_tokens": 100, "total_tokens": 200},
    }
    return json.dumps(document).encode()


if __name__ == "__main__":
    serve(RecordingProtocol)
