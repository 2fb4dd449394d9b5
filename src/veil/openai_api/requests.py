"""Reading a client's request body: size limit, JSON, and the checks the endpoints share."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from starlette.requests import Request

from veil.errors import InvalidRequest, PayloadTooLarge

MAX_DEPTH = 64
# What could make a body unrepresentable (see `_unrepresentable`): a \uD800-\uDFFF escape,
# a long run of digits, a three-digit exponent. Without any of them the tree is not walked.
_MAYBE_UNREPRESENTABLE = re.compile(r"\\u[dD][89abcdefABCDEF]|\d{19}|[eE][-+]?\d{3}")
_SURROGATE = re.compile("[\ud800-\udfff]")


class _NotJson(ValueError):
    pass


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
        # UTF-8 only (RFC 8259), though json.loads would guess UTF-16 and -32 from bytes.
        text = b"".join(chunks).decode()
        document = json.loads(text, parse_constant=_not_json)
    except RecursionError:
        raise InvalidRequest(f"Request body is nested deeper than {MAX_DEPTH} levels.") from None
    except _NotJson as constant:
        raise InvalidRequest(f"Request body has {constant}, which is not JSON.") from None
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequest("Request body is not valid JSON (UTF-8).") from None
    if not isinstance(document, dict):
        raise InvalidRequest("Request body must be a JSON object.")
    if _depth(document) > MAX_DEPTH:
        raise InvalidRequest(f"Request body is nested deeper than {MAX_DEPTH} levels.")
    problem = _unrepresentable(document) if _MAYBE_UNREPRESENTABLE.search(text) else None
    if problem is not None:
        raise InvalidRequest(f"Request body has {problem}.")
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


def _not_json(constant: str) -> Any:
    raise _NotJson(constant)


def _unrepresentable(node: Any) -> str | None:
    """What in `node` could not be passed on exactly as the client wrote it, if anything.

    The body goes on as UTF-8 JSON and its stored copy through orjson: half a surrogate
    pair has no UTF-8 form, an overflowing number no JSON form, and orjson takes integers
    of 64 bits at most. Such a body gets a 400 here rather than a 500 (or a changed value)
    later.
    """
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, str):
            if _SURROGATE.search(current):
                return "an unpaired surrogate escape (\\ud800-\\udfff) in a string"
        elif isinstance(current, bool):
            continue
        elif isinstance(current, int):
            if not -(2**63) <= current < 2**64:
                return "an integer outside the 64-bit range"
        elif isinstance(current, float):
            if not math.isfinite(current):
                return "a number too large to represent"
        elif isinstance(current, dict):
            stack.extend(current)
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)
    return None


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
