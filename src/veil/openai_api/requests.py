"""Reading a client's request body: size limit, JSON, and the checks the endpoints share."""

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


def check_model(body: dict[str, Any], *, required: bool = True) -> None:
    model = body.get("model")
    if isinstance(model, str) or (model is None and not required):
        return
    raise InvalidRequest("'model' is required and must be a string.", param="model")


def check_stream(body: dict[str, Any]) -> None:
    if "stream" in body and not isinstance(body["stream"], bool | None):
        raise InvalidRequest("'stream' must be a boolean.", param="stream")


def check_objects(body: dict[str, Any], name: str, *, required: bool) -> None:
    """`body[name]` is a list of objects (non-empty when required)."""
    items = body.get(name)
    if items is None and not required:
        return
    if not isinstance(items, list) or (required and not items):
        must = "is required and must be a non-empty array" if required else "must be an array"
        raise InvalidRequest(f"'{name}' {must}.", param=name)
    for position, item in enumerate(items):
        if not isinstance(item, dict):
            raise InvalidRequest(f"'{name}[{position}]' must be an object.", param=f"{name}[{position}]")


def check_text_or_tokens(body: dict[str, Any], name: str, *, required: bool) -> None:
    """`body[name]` is what embeddings and legacy completions take: a string, an array of
    strings, an array of token ids, or an array of such arrays."""
    value = body.get(name)
    if value is None and not required:
        return
    if isinstance(value, str) or (isinstance(value, list) and value and _all_text_or_tokens(value)):
        return
    raise InvalidRequest(
        f"'{name}' {'is required and ' if required else ''}must be a string, an array of strings,"
        " an array of token ids, or an array of token-id arrays.",
        param=name,
    )


def _all_text_or_tokens(items: list[Any]) -> bool:
    if all(isinstance(item, str) for item in items):
        return True
    if all(_is_token_id(item) for item in items):
        return True
    return all(isinstance(item, list) and item and all(map(_is_token_id, item)) for item in items)


def _is_token_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


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
