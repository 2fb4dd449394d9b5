"""Markdown emphasis with underscores, taken off before detection.

Detectors find a value's edges with word boundaries, and `_` is a word character, so a
value written in markdown emphasis (`_ann@example.com_`, `__078-05-1120__`, `_John Smith_`)
reads as glued to the underscores around it and is not found at all: a leak, on the
request side and in replies. `without_emphasis` blanks the underscores of each emphasis
pair to spaces. The text keeps its length, so spans found in it are spans of the original.

A pair is one to three underscores that open after the start or a non-word character and
before a letter or digit (or a phone number's `+` or `(`), and the same run closing after a letter
or digit and before the end or a non-word character, on one line. Underscores inside words
(`snake_case`), a lone leading one (`self._x`) and runs that close nothing stay as they are.
"""

from __future__ import annotations

import re

_PAIR = re.compile(r"(?<!\w)(_{1,3})(?=[^\W_]|[+(][0-9])(?P<inner>.+?)(?<=[^\W_])\1(?!\w)")


def without_emphasis(text: str) -> str:
    """`text` with the underscores of markdown emphasis pairs replaced by spaces."""
    if "_" not in text:
        return text
    return _PAIR.sub(_blank, text)


def _blank(pair: re.Match[str]) -> str:
    marks = " " * len(pair.group(1))
    return marks + pair.group("inner") + marks
