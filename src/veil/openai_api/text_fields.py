"""Which strings of an OpenAI request or response are free text.

Everything is text unless it is structural: ids, model names, enum tags, function names,
and binary payloads. Walking by exclusion, rather than by a list of known text fields,
is what makes unknown keys and new API fields protected by default.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

# Keys whose string values are identifiers, enum tags or settings, never free text.
STRUCTURAL_KEYS = frozenset(
    {
        "model",
        "role",
        "type",
        "id",
        "object",
        "tool_call_id",
        "call_id",
        "user",
        "safety_identifier",
        "prompt_cache_key",
        "service_tier",
        "reasoning_effort",
        "verbosity",
        "modalities",
        "finish_reason",
        "system_fingerprint",
        "encoding_format",
        "detail",
        "format",
        "voice",
        "index",
    }
)

# `name` is free text on a message ("name": "Jane") but structural under a function.
_NAME_IS_STRUCTURAL_UNDER = frozenset({"function", "custom", "json_schema", "function_call"})

# Base64 payloads: audio, files, and data: URLs of images.
_BINARY_KEYS = frozenset({"data", "file_data"})


@dataclass(slots=True)
class TextSlot:
    """A place in a JSON document holding a free-text string."""

    container: dict[str, Any] | list[Any]
    key: str | int

    def get(self) -> str:
        value = self.container[self.key]  # type: ignore[index]
        assert isinstance(value, str)
        return value

    def set(self, value: str) -> None:
        self.container[self.key] = value  # type: ignore[index]


def text_slots(document: Any) -> list[TextSlot]:
    """Every free-text string in `document`, in document order."""
    return list(_walk(document, parent_key=None))


def _walk(node: Any, parent_key: str | None) -> Iterator[TextSlot]:
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, str):
                if _is_text(key, value, parent_key):
                    yield TextSlot(node, key)
            elif isinstance(value, dict | list):
                # Containers are walked even under structural keys: the Responses API's
                # `"format": {...}` holds a JSON schema with free-text descriptions.
                yield from _walk(value, key)
    elif isinstance(node, list):
        for position, value in enumerate(node):
            if isinstance(value, str):
                if parent_key not in STRUCTURAL_KEYS:
                    yield TextSlot(node, position)
            elif isinstance(value, dict | list):
                yield from _walk(value, parent_key)


def _is_text(key: str, value: str, parent_key: str | None) -> bool:
    if key in STRUCTURAL_KEYS:
        return False
    if key == "name" and parent_key in _NAME_IS_STRUCTURAL_UNDER:
        return False
    if key in _BINARY_KEYS:
        return False
    return not (key == "url" and value.startswith("data:"))
