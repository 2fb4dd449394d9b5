"""Reading the upstream's JSON: a reply, or a streamed event's data.

A model cut off in the middle of an emoji can leave half a surrogate pair, which the
provider writes as an escape (`"\\ud83d"`). orjson refuses it, and such a string cannot be
written as UTF-8 to the client either. Like an invalid UTF-8 byte in the stream (see
`sse.SSEDecoder`), it becomes U+FFFD, and the document is read like any other: a streamed
event stays in its text channel, where the guard sees values whole across deltas.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_UNPAIRED = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def load_reply_json(text: str) -> Any:
    """The JSON document `text` holds; raises ValueError when it is not one (NaN and
    Infinity are not JSON)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        if not _SURROGATE_ESCAPE.search(text):
            raise
    return _replace_unpaired(json.loads(text, parse_constant=_not_json))


def _replace_unpaired(node: Any) -> Any:
    if isinstance(node, str):
        return _UNPAIRED.sub(REPLACEMENT, node)
    if isinstance(node, list):
        return [_replace_unpaired(item) for item in node]
    if isinstance(node, dict):
        return {_replace_unpaired(key): _replace_unpaired(value) for key, value in node.items()}
    return node


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")
