"""Chat Completions: the request shape Veil relies on, and where the reply's text is.

Under a JSON response format (`json_schema` or `json_object`, i.e. structured outputs)
the assistant's `content` is a JSON document, like a tool call's `arguments`: restored
values go in JSON-escaped, whole and streamed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from veil.errors import InvalidRequest
from veil.openai_api.choices import (
    ARGUMENTS,
    DONE,
    ChoicesStreamRewriter,
    replies_per_prompt,
    rewrite_document,
    usage_asked,
)
from veil.openai_api.requests import check_model, check_stream
from veil.openai_api.rewriter import ReplyText, TextFilter, WholeTextFilter

__all__ = ["DONE", "ChatStreamRewriter", "TextFilter", "WholeTextFilter", "rewrite_completion"]

# The name tests and benchmarks know the chat stream's rewriter by.
ChatStreamRewriter = ChoicesStreamRewriter
JSON_FORMATS = frozenset({"json_schema", "json_object"})


def check_chat_request(body: dict[str, Any]) -> None:
    """The parts of a Chat Completions request Veil depends on; the provider checks the rest."""
    check_model(body)
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("'messages' is required and must be a non-empty array.", param="messages")
    for position, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise InvalidRequest(
                f"'messages[{position}]' must be an object with a string 'role'.",
                param=f"messages[{position}]",
            )
    check_stream(body)
    n = body.get("n")
    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 1):
        raise InvalidRequest("'n' must be a positive integer.", param="n")
    response_format = body.get("response_format")
    if response_format is not None and not isinstance(response_format, dict):
        raise InvalidRequest("'response_format' must be an object.", param="response_format")


def json_fields(body: Mapping[str, Any]) -> frozenset[str]:
    """The reply fields that are JSON documents for this request."""
    response_format = body.get("response_format")
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if isinstance(kind, str) and kind in JSON_FORMATS:
        return ARGUMENTS | {"content"}
    return ARGUMENTS


def rewrite_completion(document: Any, rewrite: WholeTextFilter, body: Mapping[str, Any] | None = None) -> Any:
    """A non-streamed chat completion with every free-text string rewritten, in place."""
    return rewrite_document(document, rewrite, json_fields(body or {}))


def chat_stream(reply: ReplyText, body: Mapping[str, Any]) -> ChoicesStreamRewriter:
    return ChoicesStreamRewriter(
        reply.channel, json_fields(body), choices=replies_per_prompt(body), usage=usage_asked(body)
    )
