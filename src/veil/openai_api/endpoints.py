"""The endpoints Veil filters, as data: what differs between them is here, and the gateway
runs one handler for all of them (read, scope, consent, pseudonymize, forward, restore,
record)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from veil.openai_api.chat import chat_stream, check_chat_request, rewrite_completion
from veil.openai_api.completions import (
    check_completions_request,
    completions_stream,
    rewrite_completions_reply,
)
from veil.openai_api.embeddings import check_embeddings_request
from veil.openai_api.responses import check_responses_request, provider_state_param, rewrite_response
from veil.openai_api.responses_stream import ResponsesStreamRewriter
from veil.openai_api.rewriter import ReplyText, StreamRewriter, WholeTextFilter

RewriteReply = Callable[[Any, WholeTextFilter, Mapping[str, Any]], object]
OpenStream = Callable[[ReplyText, Mapping[str, Any]], StreamRewriter]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One `POST /v1/...` endpoint.

    `check` raises InvalidRequest (naming the param) for a body Veil cannot handle.
    `rewrite_reply` rewrites a successful whole reply in place, given the request body
    (None: the reply holds nothing to restore). `stream` opens the rewriter of a streamed
    reply (None: the endpoint never streams). `provider_store`: the endpoint takes
    `store` and `metadata`, so the provider keeps requests unless told not to.
    `provider_state` names a parameter that only works when it does, if the body has one.
    """

    name: str
    path: str
    check: Callable[[dict[str, Any]], None]
    rewrite_reply: RewriteReply | None
    stream: OpenStream | None
    provider_store: bool = False
    provider_state: Callable[[Mapping[str, Any]], str | None] = lambda body: None


def default_endpoints() -> tuple[Endpoint, ...]:
    return (
        Endpoint(
            "chat_completions",
            "/chat/completions",
            check_chat_request,
            rewrite_completion,
            chat_stream,
            provider_store=True,
        ),
        Endpoint(
            "responses",
            "/responses",
            check_responses_request,
            rewrite_response,
            ResponsesStreamRewriter,
            provider_store=True,
            provider_state=provider_state_param,
        ),
        Endpoint("embeddings", "/embeddings", check_embeddings_request, None, None),
        Endpoint(
            "completions",
            "/completions",
            check_completions_request,
            rewrite_completions_reply,
            completions_stream,
        ),
    )
