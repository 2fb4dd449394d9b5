from __future__ import annotations

import pytest

from veil.pseudonymize.tokens import PARTIAL_TOKEN_TAIL, TOKEN_PATTERN, canonical, format_token

FORMS = [
    "<EMAIL_ADDRESS_1>",
    "<email_address_1>",
    "[EMAIL_ADDRESS_1]",
    "<EMAIL_ADDRESS 1>",
    "< EMAIL_ADDRESS_1 >",
    "<EMAIL\\_ADDRESS\\_1>",
    "&lt;EMAIL_ADDRESS_1&gt;",
    "[Email_Address_1]",
]


@pytest.mark.parametrize("form", FORMS)
def test_model_spellings_map_to_the_canonical_token(form: str) -> None:
    match = TOKEN_PATTERN.search(f"**{form}**, '{form}'")
    assert match is not None
    assert canonical(match) == format_token("EMAIL_ADDRESS", 1) == "<EMAIL_ADDRESS_1>"


@pytest.mark.parametrize("form", FORMS)
def test_every_prefix_of_a_token_is_held_back(form: str) -> None:
    for end in range(1, len(form)):
        prefix = "see " + form[:end]
        tail = PARTIAL_TOKEN_TAIL.search(prefix)
        assert tail is not None and tail.start() == 4, prefix


@pytest.mark.parametrize(
    "text",
    ["a <= b", "[1]", "list[0]", "x <b>bold</b>", "AT&T", "cost < 5 and", "[link](url)", "<EMAIL_ADDRESS_1>"],
)
def test_ordinary_text_is_not_held_back(text: str) -> None:
    assert PARTIAL_TOKEN_TAIL.search(text) is None, text


@pytest.mark.parametrize(
    "text", ["[1]", "<b>", "[Note 1 of 3]", "<EMAIL_ADDRESS>", "EMAIL_ADDRESS_1", "[x](y_1)"]
)
def test_look_alikes_are_not_tokens(text: str) -> None:
    assert TOKEN_PATTERN.search(text) is None
