"""Fuzzing the SSE parser: whatever bytes the upstream sends, split wherever the network
splits them, `SSEDecoder` gives the events the specification gives for the whole stream.

The reference below is the WHATWG event-stream algorithm, written as plainly as possible,
run on the whole stream at once: lines end at CRLF, LF or CR; a blank line dispatches the
`data` lines joined with LF; comments and other fields are dropped; at the end of the
stream an event without its blank line is incomplete and is not dispatched.
"""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st
from stress_profiles import Profile

from veil.openai_api.sse import SSEDecoder, encode_event

LINE_END = re.compile(r"\r\n|\r|\n")


def reference(text: str) -> list[str]:
    payloads: list[str] = []
    data: list[str] = []
    *lines, _unterminated = LINE_END.split(text)
    for line in lines:
        if not line:
            if data:
                payloads.append("\n".join(data))
            data = []
        elif not line.startswith(":"):
            name, colon, value = line.partition(":")
            if colon and value.startswith(" "):
                value = value[1:]
            if name == "data":
                data.append(value)
    return payloads


def decode(chunks: list[bytes]) -> list[str]:
    decoder = SSEDecoder()
    payloads = [payload for chunk in chunks for payload in decoder.feed(chunk)]
    return payloads + decoder.close()


def split(raw: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(cut, len(raw)) for cut in cuts})
    return [raw[a:b] for a, b in zip([0, *points], [*points, len(raw)], strict=True)]


line_text = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\r\n"), max_size=12)
line_ends = st.sampled_from(["\n", "\r\n", "\r"])
field_lines = st.one_of(
    line_text.map(lambda v: f"data: {v}"),
    line_text.map(lambda v: f"data:{v}"),
    st.just("data"),
    line_text.map(lambda v: f"event: {v}"),
    line_text.map(lambda v: f"id: {v}"),
    st.just("retry: 1000"),
    line_text.map(lambda v: f": {v}"),
    line_text.filter(lambda v: not v.startswith(":")),  # an unknown field, or none at all
)
events = st.lists(st.tuples(field_lines, line_ends), min_size=1, max_size=5).map(
    lambda lines: "".join(line + end for line, end in lines)
)
streams = st.tuples(st.lists(st.tuples(events, line_ends), max_size=6), line_text).map(
    lambda parts: "".join(event + end for event, end in parts[0]) + parts[1]
)
cut_points = st.lists(st.integers(0, 4096), max_size=12)


def test_well_formed_streams_split_anywhere(profile: Profile) -> None:
    @profile.hypothesis(200, 5000)
    @given(text=streams, cuts=cut_points)
    def check(text: str, cuts: list[int]) -> None:
        raw = text.encode()
        assert decode(split(raw, cuts)) == reference(text)

    check()


def test_arbitrary_bytes_split_anywhere(profile: Profile) -> None:
    """Invalid UTF-8 becomes U+FFFD exactly as if the stream were decoded whole, and stray
    CRs, LFs and colons anywhere never make the parser disagree with the specification."""
    alphabet = st.sampled_from(
        [b"\r", b"\n", b"\r\n", b":", b" ", b"data", b"data: ", b"\xff", b"\xe2\x82", b"\xef\xbb\xbf"]
    )
    raws = st.lists(st.one_of(alphabet, st.binary(max_size=6)), max_size=40).map(b"".join)

    @profile.hypothesis(300, 10_000)
    @given(raw=raws, cuts=cut_points)
    def check(raw: bytes, cuts: list[int]) -> None:
        # A leading byte-order mark is no part of the stream (utf-8-sig drops exactly one).
        assert decode(split(raw, cuts)) == reference(raw.decode("utf-8-sig", errors="replace"))

    check()


def test_one_byte_at_a_time_equals_whole(profile: Profile) -> None:
    @profile.hypothesis(100, 2000)
    @given(text=streams)
    def check(text: str) -> None:
        raw = text.encode()
        assert decode([raw[i : i + 1] for i in range(len(raw))]) == decode([raw])

    check()


def test_encoded_events_decode_to_their_payload(profile: Profile) -> None:
    """What Veil writes to the client parses back to the payload (line ends as LF), with
    or without an event name, even when the payload holds CRs and LFs."""
    payloads = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
    names = st.one_of(st.none(), st.text(st.characters(exclude_categories=["Cs"]), max_size=10))

    @profile.hypothesis(200, 5000)
    @given(payloads=st.lists(payloads, min_size=1, max_size=4), name=names, cuts=cut_points)
    def check(payloads: list[str], name: str | None, cuts: list[int]) -> None:
        raw = b"".join(encode_event(payload, name) for payload in payloads)
        assert decode(split(raw, cuts)) == [LINE_END.sub("\n", payload) for payload in payloads]

    check()


def test_an_event_cut_before_its_blank_line_is_not_dispatched() -> None:
    """A stream cut inside an event: the half event (half a JSON document, maybe half a
    value) never reaches the rewriter as if it were whole."""
    assert decode([b'data: {"a": 1}\n\ndata: {"choices": [{"delta": {"content": "kim.park@exa']) == [
        '{"a": 1}'
    ]
    assert decode([b'data: {"a": 1}\n\ndata: {"b": 2}\n']) == ['{"a": 1}']
    assert decode([b'data: {"a": 1}\n\ndata: {"b": 2}\r']) == ['{"a": 1}']
    assert decode([b'data: {"a": 1}\r\n\r\n']) == ['{"a": 1}']
    assert decode([b'data: {"a": 1}\r', b"\r"]) == ['{"a": 1}']
