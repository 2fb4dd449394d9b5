"""Legacy Completions (`POST /v1/completions`): a prompt in, `choices[].text` out.

The prompt (a string or an array of them) and the `suffix` are free text; token-id arrays
pass as they are. Replies are chunks of choices like chat's, so they share its rewriter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from veil.errors import InvalidRequest
from veil.openai_api.choices import ChoicesStreamRewriter, replies_per_prompt, rewrite_document, usage_asked
from veil.openai_api.requests import check_model, check_stream, check_text_or_tokens
from veil.openai_api.rewriter import ReplyText, WholeTextFilter


def check_completions_request(body: dict[str, Any]) -> None:
    check_model(body)
    check_text_or_tokens(body, "prompt", required=False)
    if body.get("suffix") is not None and not isinstance(body["suffix"], str):
        raise InvalidRequest("'suffix' must be a string.", param="suffix")
    check_stream(body)


def rewrite_completions_reply(document: Any, rewrite: WholeTextFilter, body: Mapping[str, Any]) -> None:
    rewrite_document(document, rewrite)


def completions_stream(reply: ReplyText, body: Mapping[str, Any]) -> ChoicesStreamRewriter:
    return ChoicesStreamRewriter(
        reply.channel, choices=replies_per_prompt(body) * _prompts(body), usage=usage_asked(body)
    )


def _prompts(body: Mapping[str, Any]) -> int:
    """How many prompts a request holds: an array of strings or of token arrays is a batch,
    one array of token ids a single prompt."""
    prompt = body.get("prompt")
    if isinstance(prompt, list) and prompt and all(isinstance(p, str | list) for p in prompt):
        return len(prompt)
    return 1
