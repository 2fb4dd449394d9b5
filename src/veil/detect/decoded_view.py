"""Decoded views of a text: percent-encoding and backslash escapes undone, with an offset map.

Values hide from detectors when a client percent-encodes them (`john%40example.com`) or
when a JSON document travels inside a JSON string (`\\"password\\": \\"...\\"`,
`john\\u0040example.com`). A `DecodedView` is the text with those escapes undone, plus,
for each character of the view, the range of the original text it came from, so a span
found in the view maps back to a span that covers the encoded form in the original.

Escapes nest (a JSON string holding JSON holding a percent-encoded URL), so views are
decoded again from the previous view, up to a small depth.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from veil.detect.base import Span

# What is undone: runs of `%XX` (as UTF-8), `\uXXXX` (with surrogate pairs), `\xXX`, and
# the one-character JSON/JS escapes. Anything else (`\d` in a regex, `50%`) stays as is.
# One leading character class (rather than two alternatives) lets CPython's re skip
# ahead quickly; on text without escapes that is several times faster.
ESCAPE = re.compile(
    r"[%\\](?:(?<=%)[0-9A-Fa-f]{2}(?:%[0-9A-Fa-f]{2})*|(?<=\\)(?:u[0-9A-Fa-f]{4}|x[0-9A-Fa-f]{2}|[\\\"/'bfnrt]))"
)

_SIMPLE = {"\\": "\\", '"': '"', "/": "/", "'": "'", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_LOW_SURROGATE = re.compile(r"\\u[dD][c-fC-F][0-9A-Fa-f]{2}")

MAX_DEPTH = 3


@dataclass(frozen=True, slots=True)
class DecodedView:
    """`text` decoded; view character i came from `original[starts[i]:ends[i]]`."""

    text: str
    starts: list[int]
    ends: list[int]

    def to_original(self, span: Span) -> Span:
        """The span covering, in the original text, what `span` covers in this view."""
        return Span(
            span.entity_type, self.starts[span.start], self.ends[span.end - 1], span.score, span.detector
        )


def decoded_views(text: str) -> list[DecodedView]:
    """Successively decoded views of `text`, empty when there is nothing to decode."""
    views: list[DecodedView] = []
    current = text
    for _ in range(MAX_DEPTH):
        decoded = _decode_once(current)
        if decoded is None:
            break
        current, starts, ends = decoded
        if views:  # offsets into the previous view become offsets into the original
            previous = views[-1]
            starts = [previous.starts[i] for i in starts]
            ends = [previous.ends[i - 1] for i in ends]
        views.append(DecodedView(current, starts, ends))
    return views


def _decode_once(text: str) -> tuple[str, list[int], list[int]] | None:
    """One round of unescaping; None when nothing in `text` decodes."""
    pieces: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    position = 0
    changed = False
    for match in ESCAPE.finditer(text):
        a, b = match.span()
        if a < position:  # the low half of a surrogate pair already consumed
            continue
        pieces.append(text[position:a])
        starts.extend(range(position, a))
        ends.extend(range(position + 1, a + 1))
        for char, char_start, char_end in _unescape(text, a, b):
            pieces.append(char)
            starts.append(char_start)
            ends.append(char_end)
            changed = changed or char_end - char_start != 1
        position = ends[-1]  # past the escape, or past a surrogate pair's low half
    if not changed:
        return None
    pieces.append(text[position:])
    starts.extend(range(position, len(text)))
    ends.extend(range(position + 1, len(text) + 1))
    return "".join(pieces), starts, ends


def _unescape(text: str, a: int, b: int) -> list[tuple[str, int, int]]:
    """The characters one escape match stands for, each with its range in `text`."""
    token = text[a:b]
    if token[0] == "%":
        data = bytes.fromhex(token.replace("%", ""))
        chars: list[tuple[str, int, int]] = []
        cursor = a
        for char in data.decode("utf-8", "surrogateescape"):
            width = 3 * len(char.encode("utf-8", "surrogateescape"))
            if 0xDC80 <= ord(char) <= 0xDCFF:  # an undecodable byte stays as its `%XX`
                chars.extend((c, cursor + i, cursor + i + 1) for i, c in enumerate(text[cursor : cursor + 3]))
            else:
                chars.append((char, cursor, cursor + width))
            cursor += width
        return chars
    kind = token[1]
    if kind == "u":
        code = int(token[2:], 16)
        if 0xD800 <= code <= 0xDBFF and _LOW_SURROGATE.match(text, b):
            low = int(text[b + 2 : b + 6], 16)
            return [(chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)), a, b + 6)]
        if 0xD800 <= code <= 0xDFFF:  # a lone surrogate is not text; keep the escape
            return [(c, a + i, a + i + 1) for i, c in enumerate(token)]
        return [(chr(code), a, b)]
    if kind == "x":
        return [(chr(int(token[2:], 16)), a, b)]
    return [(_SIMPLE[kind], a, b)]
