"""Phone numbers, validated by `phonenumbers` (libphonenumber's metadata).

`phonenumbers.PhoneNumberMatcher` is pure Python and slow on long text, so a compiled
regex first finds windows that could hold a number (a run of digits and phone
separators) and only those windows go to the matcher.

What is accepted:
- numbers libphonenumber calls valid for their region, written bare or grouped the way
  that region groups them (`(415) 555-2671`, not `2024 123 456`);
- numbers that are merely possible (right length) but carry explicit phone formatting:
  a leading `+`, an area code in parentheses, or NXX-NXX-XXXX groups. Fictional
  555-01XX numbers with any area code (`911-555-0199`) fall here and must be caught;
- a bare digit run (`4155552671`) only when it is valid *and* a phone word comes shortly
  before it, because bare runs are usually order or account numbers;
- failing those, another country's national format (`06-82237745`, `Mobile: 730 064 218`):
  see `phone_national`.
Dates, SSNs (3-2-4), IPv4 addresses and card-shaped runs are refused before the matcher.
An extension written after a number (`x6404`, `ext. 12`) is part of its span.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatcher

from veil.detect.base import Span
from veil.detect.context import ContextCue
from veil.detect.phone_national import is_national_number

# Digits and phone separators (space, no-break space, parentheses, dot, dash, slash),
# starting and ending on a digit. Some separators end a window: two blanks in a row (no
# number is written with them), a dot next to a blank (it ends a sentence: "+49 30
# 901820. 192.0.2.7") and a parenthesis that does not hug a digit ("901820 ) 5555").
# The pattern starts with a plain character class so CPython's re can skip ahead
# quickly; the look-behind after the first digit keeps a window from starting inside a
# digit run, and the rest of the left edge is checked in `_window_start`.
_WINDOW = re.compile(
    r"[0-9](?<![0-9][0-9])(?:[0-9\-/]|\((?=[0-9])|(?<=[0-9])\)|\.(?![ \u00a0])|[ \u00a0](?![ \u00a0.)]))"
    r"{5,40}(?<=[0-9])(?![0-9])"
)
_SPACED_SEPARATOR = re.compile(r" [-./]+(?: [-./]+)* ")
_MIN_DIGITS = 7
_MAX_DIGITS = 15
_MAX_TRAILING_CUTS = 6
_MAX_LEADING_CUTS = 2
_MAX_LEADING_DIGITS = 2
_GLUED = re.compile(r"[\w+.\-/]")

_DATE = re.compile(
    r"(?<![0-9])(?:[0-9]{4}[-./][0-9]{1,2}[-./][0-9]{1,2}|[0-9]{1,2}[-./][0-9]{1,2}[-./][0-9]{2,4})(?![0-9])"
)
_SSN_SHAPE = re.compile(r"\d{3}([- ])\d{2}\1\d{4}")
_IPV4_SHAPE = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_CARD_SHAPE = re.compile(r"\d{13,19}|\d{4}(?:[ -]\d{4}){2,3}(?:[ -]\d{1,4})?|\d{4}[ -]\d{6}[ -]\d{4,5}")
# A lone digit starts a number (`+1 ...`, `+33 1 ...`, `+44 (0)20 ...`); two or more
# lone digits are a list or a count, not a phone number ("1 2 3 4 5 6 7 8 9 10").
_LONE_DIGIT = re.compile(r"(?<![0-9])[0-9](?![0-9])")
_GROUP = re.compile(r"[0-9]+")
_NANP_GROUPS = re.compile(r"(?:\+?1[-. ])?\d{3}([-. ])\d{3}\1\d{4}")
# An extension belongs to the number: leaving it out would send part of the value upstream.
_EXTENSION = re.compile(r" ?(?i:x|ext\.?|extension)[ :]?[0-9]{1,6}(?![0-9])")

_Match = tuple[int, int, str, phonenumbers.PhoneNumber]

_PHONE_WORDS = ContextCue(
    re.compile(
        r"(?i)\b(?:phone|tel|telephone|call|mobile|cell|fax|sms|text|whatsapp|contact|reach|dial|number)\b"
    ),
    window=30,
)


class PhoneDetector:
    """Finds PHONE_NUMBER values; `region` is the default for numbers without a `+`."""

    name = "phone"
    entity_type = "PHONE_NUMBER"
    trigger: re.Pattern[str] | None = _WINDOW
    valid_score = 0.85
    possible_score = 0.6
    national_score = 0.5

    def __init__(self, region: str = "US") -> None:
        self.region = region

    def find(self, text: str) -> Iterator[Span]:
        for window in _WINDOW.finditer(text):
            start, end = _window_start(text, window.start()), window.end()
            # Values joined by a spaced dash or slash ("+49 30 901820 / 192.0.2.7") are
            # read one by one; the whole run is read only when no side is a number on its
            # own ("030 / 901820"). A window glued on its left keeps only its other sides.
            edges = [start]
            for separator in _SPACED_SEPARATOR.finditer(text, window.start(), end):
                edges += [separator.start(), separator.end()]
            edges.append(end)
            spans: list[Span] = []
            if len(edges) > 2:
                for left, right in zip(edges[::2], edges[1::2], strict=True):
                    if left >= 0:
                        spans += self._in_window(text, _window_start(text, left), right)
            if not spans and start >= 0:
                spans = self._in_window(text, start, end)
            yield from spans

    def _in_window(self, text: str, start: int, end: int) -> list[Span]:
        if start < 0 or _refused_shape(text[start:end]):
            return []
        spans = []
        for offset, stop, raw, number in self._matches(text[start:end]):
            if _refused_shape(raw) or _DATE.search(raw):
                continue
            score = self._score(text, start + offset, raw, number)
            if score is not None:
                spans.append(self._span(text, start + offset, start + stop, score))
        if not spans and is_national_number(text, start, end):
            spans.append(self._span(text, start, end, self.national_score))
        return spans

    def _span(self, text: str, start: int, end: int, score: float) -> Span:
        if extension := _EXTENSION.match(text, end):
            end = extension.end()
        return Span(self.entity_type, start, end, score, self.name)

    def _matches(self, window: str) -> list[_Match]:
        """Possible numbers in `window`, as (start, end, raw text, parsed number)."""
        found = self._matcher(window)
        if found or window.count(" ") < 2 or sum(char.isdigit() for char in window) <= _MIN_DIGITS:
            return found
        # The matcher gives up on a window that reads as one over-long number
        # ("+44 20 7946 0958 4111 1111 1111 1111", "12 415 555 2671"): retry without some
        # trailing groups, then without a leading one, longest piece first; once a number
        # is found, what is left of the window is tried on its own. Only a short leading
        # group is dropped: in "250 500 750 1000" the groups are a list, not a prefix.
        gaps = [index for index, char in enumerate(window) if char == " "]
        pieces = [(0, cut) for cut in reversed(gaps[-_MAX_TRAILING_CUTS:])]
        pieces += [
            (gap + 1, len(window))
            for gap in gaps[:_MAX_LEADING_CUTS]
            if sum(char.isdigit() for char in window[:gap]) <= _MAX_LEADING_DIGITS
        ]
        for start, end in pieces:
            if sum(char.isdigit() for char in window[start:end]) > _MAX_DIGITS:
                continue  # longer than any one number (E.164), and the matcher already failed on it
            piece = self._matcher(window[start:end], shift=start)
            if piece and start == 0:
                return piece + self._matcher(window[end + 1 :], shift=end + 1)
            if piece:
                return self._matcher(window[: start - 1]) + piece
        return []

    def _matcher(self, window: str, shift: int = 0) -> list[_Match]:
        if _refused_shape(window) or sum(char.isdigit() for char in window) < _MIN_DIGITS:
            return []
        return [
            (shift + match.start, shift + match.end, match.raw_string, match.number)
            for match in PhoneNumberMatcher(window, self.region, leniency=Leniency.POSSIBLE)
        ]

    def _score(self, text: str, start: int, raw: str, number: phonenumbers.PhoneNumber) -> float | None:
        if phonenumbers.is_valid_number(number) and _grouped_as_written(raw, number):
            if raw.isdigit() and not _PHONE_WORDS.precedes(text, start):
                return None
            return self.valid_score
        if raw.startswith("+") or "(" in raw or _NANP_GROUPS.fullmatch(raw):
            return self.possible_score
        return None


def _grouped_as_written(raw: str, number: phonenumbers.PhoneNumber) -> bool:
    """Whether `raw` groups its digits the way its region writes them, or not at all.

    Validity alone says little about "2024 123 456": it is a valid Washington DC number,
    but written as no one writes one. With a `+` the country code is explicit evidence.
    """
    groups = _GROUP.findall(raw.replace("(0)", ""))
    if len(groups) == 1 or raw.startswith("+"):
        return True
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return [len(group) for group in _GROUP.findall(national)] == [len(group) for group in groups]


def _window_start(text: str, start: int) -> int:
    """Where the window really starts once a `+`, `(` or `(+` before it is included; -1 if glued.

    A window glued to a word, a decimal point or a path (`v2.415.555.2671`, `/4155552671`)
    is not a phone number.
    """
    for _ in range(2):
        if start and text[start - 1] in "(+":
            start -= 1
    if start and _GLUED.match(text, start - 1):
        return -1
    return start


def _refused_shape(candidate: str) -> bool:
    # "(0)" is the trunk prefix dropped when dialling from abroad (`+46 (0)8 ...`), not a digit of a list.
    if len(_LONE_DIGIT.findall(candidate.replace("(0)", ""))) > 1:
        return True
    if candidate.startswith(("+", "(")):
        return False
    return bool(
        _SSN_SHAPE.fullmatch(candidate)
        or _IPV4_SHAPE.fullmatch(candidate)
        or _CARD_SHAPE.fullmatch(candidate)
        or _DATE.fullmatch(candidate)
    )
