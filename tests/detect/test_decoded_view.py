import pytest

from veil.detect.base import Span
from veil.detect.decoded_view import MAX_DEPTH, decoded_views


def view_texts(text: str) -> list[str]:
    return [view.text for view in decoded_views(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("john%40example.com", ["john@example.com"]),
        ("%2B44%2020%207946", ["+44 20 7946"]),
        ("jos%C3%A9", ["josé"]),  # percent runs decode as UTF-8
        (r"john\u0040example.com", ["john@example.com"]),
        (r"\ud83d\ude00!", ["\U0001f600!"]),  # a surrogate pair is one character
        (r"a\x41\n\t\"\/\\", ['aA\n\t"/\\']),
        (r"{\"a\": \"{\\\"pw\\\": 1}\"}", ['{"a": "{\\"pw\\": 1}"}', '{"a": "{"pw": 1}"}']),
        ("%255C%2522", ["%5C%22", '\\"', '"']),  # decoded again while something decodes
        # nothing to decode: no view
        ("plain text", []),
        ("50% off, 100%!", []),
        (r"regex \d+\s*", []),
        (r"lone \ud83d surrogate", []),
        ("%FF%FE not UTF-8", []),
    ],
)
def test_views(text: str, expected: list[str]) -> None:
    assert view_texts(text) == expected


def test_depth_is_bounded() -> None:
    views = decoded_views("%2525252540")  # four rounds would reach "@"
    assert [view.text for view in views] == ["%25252540", "%252540", "%2540"][:MAX_DEPTH]


@pytest.mark.parametrize(
    ("text", "value", "encoded"),
    [
        ("to: john%40example.com!", "john@example.com", "john%40example.com"),
        ("x jos%C3%A9%40example.com", "josé@example.com", "jos%C3%A9%40example.com"),
        (r"\ud83d\ude00 john\u0040example.com", "john@example.com", r"john\u0040example.com"),
        (r"{\"a\": \"{\\\"pw\\\": \\\"hunter2\\\"}\"}", "hunter2", r"hunter2"),
        (r"\"%2B44\"", "+44", "%2B44"),
    ],
)
def test_spans_map_back_to_the_encoded_characters(text: str, value: str, encoded: str) -> None:
    view = decoded_views(text)[-1]
    start = view.text.index(value)
    mapped = view.to_original(Span("X", start, start + len(value), 1.0, "test"))
    assert text[mapped.start : mapped.end] == encoded
    assert (mapped.entity_type, mapped.score, mapped.detector) == ("X", 1.0, "test")
