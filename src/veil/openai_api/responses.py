"""The Responses API (`POST /v1/responses`): the request shape Veil relies on, what needs
the provider to keep state, and where a whole reply's text is.

Requests: `input` (a string or a list of items: messages with content parts,
`function_call` items with `arguments`, `function_call_output` items with `output`),
`instructions`, and tools are free text by exclusion like everything else; ids, names
and types are structural (see `text_fields`).

Replies: every output item's text is restored — `output_text` and `refusal` parts,
function-call `arguments` (a JSON document: values go in JSON-escaped), reasoning
summaries — and so are the request fields the response echoes (`instructions`, tools).
Under a JSON output format (`text.format` of type `json_schema` or `json_object`) the
`output_text` is a JSON document too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from veil.errors import InvalidRequest
from veil.openai_api.requests import check_model, check_objects, check_stream
from veil.openai_api.rewriter import WholeTextFilter
from veil.openai_api.text_fields import text_slots

JSON_FORMATS = frozenset({"json_schema", "json_object"})
# Parameters that only work when the provider keeps responses: they refer to, or create,
# state held upstream (a stored response, a conversation, a response run in the background).
# `input` items of type `item_reference` do too.
PROVIDER_STATE_PARAMS = ("previous_response_id", "conversation", "background")


def check_responses_request(body: dict[str, Any]) -> None:
    """The parts of a Responses request Veil depends on; the provider checks the rest."""
    check_model(body, required=False)
    items = body.get("input")
    if items is not None and not isinstance(items, str):
        if not isinstance(items, list):
            raise InvalidRequest("'input' must be a string or an array of items.", param="input")
        check_objects(body, "input", required=False)
    instructions = body.get("instructions")
    if instructions is not None and not isinstance(instructions, str):
        raise InvalidRequest("'instructions' must be a string.", param="instructions")
    check_objects(body, "tools", required=False)
    text = body.get("text")
    output_format = text.get("format") if isinstance(text, dict) else None
    if text is not None and (not isinstance(text, dict) or not isinstance(output_format, dict | None)):
        raise InvalidRequest("'text' must be an object, its 'format' an object.", param="text")
    check_stream(body)


def provider_state_param(body: Mapping[str, Any]) -> str | None:
    """The first parameter of `body` that needs responses kept at the provider, if any
    (an `item_reference` input item points at an item the provider stored)."""
    for name in PROVIDER_STATE_PARAMS:
        if body.get(name) not in (None, False):
            return name
    items = body.get("input")
    for position, item in enumerate(items if isinstance(items, list) else ()):
        if isinstance(item, dict) and item.get("type") == "item_reference":
            return f"input[{position}]"
    return None


def json_output(document: Mapping[str, Any]) -> bool:
    """Whether a request (or the response echoing it) asks for JSON output text."""
    text = document.get("text")
    output_format = text.get("format") if isinstance(text, dict) else None
    kind = output_format.get("type") if isinstance(output_format, dict) else None
    return isinstance(kind, str) and kind in JSON_FORMATS


def rewrite_response(document: Any, rewrite: WholeTextFilter, body: Mapping[str, Any]) -> None:
    """A non-streamed response with every free-text string rewritten, in place."""
    structured = json_output(body) or (isinstance(document, dict) and json_output(document))
    for slot in text_slots(document):
        container = slot.container
        json_string = slot.key == "arguments" or (
            structured
            and slot.key == "text"
            and isinstance(container, dict)
            and container.get("type") == "output_text"
        )
        slot.set(rewrite(slot.get(), json_string=json_string))
