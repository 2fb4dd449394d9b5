"""Reading a client's request body: size limit, JSON, and the shape we rely on."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from veil.errors import InvalidRequest, PayloadTooLarge

MAX_DEPTH = 64


async def read_json(request: Request, max_bytes: int) -> dict[str, Any]:
    """The body as a JSON object, or a 400/413 that says what is wrong (never what it held)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(f"Request body exceeds the limit of {max_bytes} bytes.")
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(f"Request body exceeds the limit of {max_bytes} bytes.")
        chunks.append(chunk)
    try:
        document = json.loads(b"".join(chunks))
    except RecursionError:
        raise InvalidRequest(f"Request body is nested deeper than {MAX_DEPTH} levels.") from None
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequest("Request body is not valid JSON (UTF-8).") from None
    if not isinstance(document, dict):
        raise InvalidRequest("Request body must be a JSON object.")
    if _depth(document) > MAX_DEPTH:
        raise InvalidRequest(f"Request body is nested deeper than {MAX_DEPTH} levels.")
    return document


def check_chat_request(body: dict[str, Any]) -> None:
    """The parts of a Chat Completions request Veil depends on; the provider checks the rest."""
    if not isinstance(body.get("model"), str):
        raise InvalidRequest("'model' is required and must be a string.", param="model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("'messages' is required and must be a non-empty array.", param="messages")
    for position, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise InvalidRequest(
                f"'messages[{position}]' must be an object with a string 'role'.",
                param=f"messages[{position}]",
            )
    if "stream" in body and not isinstance(body["stream"], bool | None):
        raise InvalidRequest("'stream' must be a boolean.", param="stream")
    n = body.get("n")
    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 1):
        raise InvalidRequest("'n' must be a positive integer.", param="n")


def _depth(node: Any) -> int:
    depth = 0
    stack = [(node, 1)]
    while stack:
        current, level = stack.pop()
        depth = max(depth, level)
        if isinstance(current, dict):
            stack.extend((value, level + 1) for value in current.values() if isinstance(value, dict | list))
        elif isinstance(current, list):
            stack.extend((value, level + 1) for value in current if isinstance(value, dict | list))
    return depth
