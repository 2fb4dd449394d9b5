"""SSEDecoder on a stream that opens with a UTF-8 byte-order mark: as the specification
says, one leading BOM is ignored, wherever the network splits the stream; any other BOM is
text like any other character."""

from __future__ import annotations

import pytest

from veil.openai_api.sse import SSEDecoder

BOM = "\ufeff".encode()
STREAM = b'data: {"a": 1}\n\ndata: {"b": 2}\n\n'


def decode(chunks: list[bytes]) -> list[str]:
    decoder = SSEDecoder()
    payloads = [payload for chunk in chunks for payload in decoder.feed(chunk)]
    return payloads + decoder.close()


def every_split(raw: bytes) -> list[list[bytes]]:
    """The stream as one chunk, split once at every point, and one byte at a time."""
    splits = [[raw[:cut], raw[cut:]] for cut in range(len(raw) + 1)]
    return [[raw], *splits, [raw[i : i + 1] for i in range(len(raw))]]


@pytest.mark.parametrize("chunks", every_split(BOM + STREAM), ids=lambda c: "+".join(str(len(p)) for p in c))
def test_a_leading_bom_is_ignored_wherever_the_stream_is_split(chunks: list[bytes]) -> None:
    assert decode(chunks) == ['{"a": 1}', '{"b": 2}']


def test_only_the_first_bom_is_ignored() -> None:
    # A second BOM makes the first line's field name "\ufeffdata": no field Veil knows.
    assert decode([BOM + BOM + STREAM]) == ['{"b": 2}']
    # Inside the stream, a BOM is a character of the event's data.
    assert decode([b"data: x\n\n" + BOM + b"data: y\n\n"]) == ["x"]
    assert decode([b"data: " + BOM + b"x\n\n"]) == ["\ufeffx"]


@pytest.mark.parametrize("start", [b"\xef", b"\xef\xbb"], ids=["one-byte", "two-bytes"])
def test_the_start_of_a_bom_that_is_not_one_is_invalid_utf8(start: bytes) -> None:
    assert decode([start, b"data: x\n\n"]) == []  # its U+FFFD opens the field name
    assert decode([start + b"\n", STREAM]) == ['{"a": 1}', '{"b": 2}']
    assert decode([b"data: " + start, b"x\n\n"]) == ["\ufffdx"]
