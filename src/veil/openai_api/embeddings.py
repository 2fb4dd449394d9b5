"""Embeddings (`POST /v1/embeddings`): texts in, vectors out.

The input (a string or an array of them) is pseudonymized like any text; token-id arrays
pass as they are. The reply holds vectors (floats, or base64 with `encoding_format`),
nothing to restore, and never streams.
"""

from __future__ import annotations

from typing import Any

from veil.openai_api.requests import check_model, check_text_or_tokens


def check_embeddings_request(body: dict[str, Any]) -> None:
    check_model(body)
    check_text_or_tokens(body, "input", required=True)
