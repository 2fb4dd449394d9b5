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
        "item_id",
        "file_id",
        "previous_response_id",
        "conversation",
        "include",
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
_NAME_IS_STRUCTURAL_UNDER = frozenset({"function", "custom", "json_schema", "function_call", "format"})
# ... and on the Responses API's flat typed objects: tools, tool choices, tool calls and
# their outputs, output formats (`{"type": "function", "name": "get_weather", ...}`).
_NAMED_TYPES = frozenset({"function", "custom", "json_schema", "mcp", "namespace"})
_NAMED_TYPE_SUFFIXES = ("_call", "_call_output")

# Base64 payloads: audio, files, images, and reasoning the provider encrypted for itself.
BINARY_KEYS = frozenset({"data", "file_data", "encrypted_content", "b64_json", "partial_image_b64"})
# Keys whose `data:` URLs are base64 payloads too (chat's image_url.url, Responses' image_url).
_URL_KEYS = frozenset({"url", "image_url", "file_url"})


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
                if _is_text(key, value, parent_key, node):
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


def _is_text(key: str, value: str, parent_key: str | None, container: dict[str, Any]) -> bool:
    if key in STRUCTURAL_KEYS:
        return False
    if key == "name" and (parent_key in _NAME_IS_STRUCTURAL_UNDER or names_a_tool(container)):
        return False
    if key in BINARY_KEYS:
        return False
    if key == "result" and container.get("type") == "image_generation_call":
        return False  # a base64 image
    return not (key in _URL_KEYS and value.startswith("data:"))


def names_a_tool(container: dict[str, Any]) -> bool:
    """Whether `container` is a typed API object whose `name` is an identifier."""
    kind = container.get("type")
    return isinstance(kind, str) and (kind in _NAMED_TYPES or kind.endswith(_NAMED_TYPE_SUFFIXES))
