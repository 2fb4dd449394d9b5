"""Markdown emphasis with underscores, taken off before detection.

Detectors find a value's edges with word boundaries, and `_` is a word character, so a
value written in markdown emphasis (`_ann@example.com_`, `__078-05-1120__`, `_John Smith_`)
reads as glued to the underscores around it and is not found at all: a leak, on the
request side and in replies. `without_emphasis` blanks the underscores of each emphasis
pair to spaces. The text keeps its length, so spans found in it are spans of the original.

A pair is one to three underscores that open after the start or a non-word character and
before a letter or digit (or a phone number's `+` or `(`), and the first run of the same
length after it that closes after a letter or digit and before the end or a non-word
character, on the same line. Pairs do not overlap; underscores inside words
(`snake_case`), a lone leading one (`self._x`) and runs that close nothing stay as they are.

Openings and closings are each found in one pass and paired by position, so a long line of
openings that never close ("_a _a _a ...") costs linear time, not a scan to the line's end
from each of them.
"""

from __future__ import annotations

import re
from bisect import bisect_left

_OPENING = re.compile(r"(?<!\w)(_{1,3})(?=[^\W_]|[+(][0-9])")
_CLOSING = re.compile(r"(?<=[^\W_])(_{1,3})(?!\w)")


def without_emphasis(text: str) -> str:
    """`text` with the underscores of markdown emphasis pairs replaced by spaces."""
    if "_" not in text:
        return text
    closings: dict[int, list[int]] = {1: [], 2: [], 3: []}  # run length -> starts, in order
    for closing in _CLOSING.finditer(text):
        closings[len(closing.group(1))].append(closing.start())
    breaks = [found.start() for found in re.finditer("\n", text)]
    chars = list(text)
    resume = 0  # pairs do not overlap: the next opening starts after the last pair
    for opening in _OPENING.finditer(text):
        start, width = opening.start(), len(opening.group(1))
        if start < resume:
            continue
        starts = closings[width]
        index = bisect_left(starts, opening.end())
        if index == len(starts):
            continue
        close = starts[index]
        if bisect_left(breaks, opening.end()) != bisect_left(breaks, close):
            continue  # a line break between them
        chars[start : start + width] = " " * width
        chars[close : close + width] = " " * width
        resume = close + width
    return "".join(chars)
