"""Which strings of a request are free text: a table of shapes, the Responses API's first."""

from __future__ import annotations

from typing import Any

import pytest

from veil.openai_api.text_fields import text_slots

CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("a string input", {"model": "m", "input": "hi there"}, ["hi there"]),
    (
        "a message item with parts",
        {"input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}]},
        ["hi"],
    ),
    (
        "a function call item: its arguments, not its ids or name",
        {
            "input": [
                {"type": "function_call", "id": "fc_1", "call_id": "c1", "name": "lookup", "arguments": "{}"}
            ]
        },
        ["{}"],
    ),
    (
        "a function call output item",
        {"input": [{"type": "function_call_output", "call_id": "c1", "output": "found it"}]},
        ["found it"],
    ),
    (
        "a flat function tool: description and schema descriptions",
        {
            "tools": [
                {
                    "type": "function",
                    "name": "lookup",
                    "description": "finds people",
                    "parameters": {
                        "type": "object",
                        "properties": {"q": {"type": "string", "description": "who"}},
                    },
                }
            ]
        },
        ["finds people", "who"],
    ),
    (
        "a custom tool and a tool choice",
        {
            "tools": [{"type": "custom", "name": "grep"}],
            "tool_choice": {"type": "function", "name": "lookup"},
        },
        [],
    ),
    (
        "an output format: the schema's descriptions, not its name",
        {
            "text": {
                "format": {"type": "json_schema", "name": "person", "schema": {"description": "a person"}}
            }
        },
        ["a person"],
    ),
    ("instructions", {"instructions": "be kind"}, ["be kind"]),
    (
        "ids of state at the provider",
        {
            "previous_response_id": "resp_1",
            "conversation": "conv_1",
            "include": ["reasoning.encrypted_content"],
        },
        [],
    ),
    (
        "reasoning the provider encrypted for itself",
        {"input": [{"type": "reasoning", "id": "rs_1", "encrypted_content": "gAAAAB", "summary": []}]},
        [],
    ),
    (
        "an image as a data URL, a file by id",
        {
            "input": [
                {
                    "role": "user",
                    "content": [
                        {"type": "input_image", "image_url": "data:image/png;base64,iVBOR", "detail": "auto"},
                        {"type": "input_image", "image_url": "https://example.com/a.png"},
                        {"type": "input_file", "file_id": "file-1", "filename": "notes of jane.txt"},
                    ],
                }
            ]
        },
        ["https://example.com/a.png", "notes of jane.txt"],
    ),
    (
        "a chat message's name is text",
        {"messages": [{"role": "user", "name": "Jane", "content": "hi"}]},
        ["Jane", "hi"],
    ),
    (
        "a name on an object of its own type is text",
        {"extra": {"type": "person", "name": "Jane Roe"}},
        ["Jane Roe"],
    ),
    ("an embeddings input list", {"model": "e", "input": ["a", "b"], "encoding_format": "float"}, ["a", "b"]),
    ("token ids are not text", {"model": "e", "input": [[1, 2], [3]]}, []),
    ("a legacy prompt and suffix", {"model": "m", "prompt": ["p"], "suffix": "s"}, ["p", "s"]),
]


@pytest.mark.parametrize(("body", "texts"), [(b, t) for _, b, t in CASES], ids=[name for name, _, _ in CASES])
def test_text_slots(body: dict[str, Any], texts: list[str]) -> None:
    assert [slot.get() for slot in text_slots(body)] == texts
