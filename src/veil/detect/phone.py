"""Phone numbers, validated by `phonenumbers` (libphonenumber's metadata).

`phonenumbers.PhoneNumberMatcher` is pure Python and slow on long text, so a compiled
regex first finds windows that could hold a number (a digit run of at least seven digits
with phone separators) and only those windows go to the matcher.

What is accepted:
- numbers libphonenumber calls valid for their region;
- numbers that are merely possible (right length) but carry explicit phone formatting:
  a leading `+`, an area code in parentheses, or NXX-NXX-XXXX groups. Fictional
  555-01XX numbers with any area code (`911-555-0199`) fall here and must be caught;
- a bare digit run (`4155552671`) only when it is valid *and* a phone word comes shortly
  before it, because bare runs are usually order or account numbers.
Dates, SSNs (3-2-4), IPv4 addresses and card-shaped runs are refused before the matcher.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatcher

from veil.detect.base import Span
from veil.detect.context import ContextCue

# Digits and phone separators (space, no-break space, parentheses, dot, dash, slash),
# starting and ending on a digit; two blanks in a row end a window, since no number is
# written with them. The pattern starts with a plain character class so CPython's re can
# skip ahead quickly; the look-behind after the first digit keeps a window from starting
# inside a digit run, and the rest of the left edge is checked in `_window_start`.
_WINDOW = re.compile(r"[0-9](?<![0-9][0-9])(?:[0-9().\-/]|[ \u00a0](?![ \u00a0])){5,40}(?<=[0-9])(?![0-9])")
_MIN_DIGITS = 7
_MAX_DIGITS = 15
_MAX_TRAILING_CUTS = 6
_MAX_LEADING_CUTS = 2
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
_NANP_GROUPS = re.compile(r"(?:\+?1[-. ])?\d{3}([-. ])\d{3}\1\d{4}")

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

    def __init__(self, region: str = "US") -> None:
        self.region = region

    def find(self, text: str) -> Iterator[Span]:
        for window in _WINDOW.finditer(text):
            offset = _window_start(text, window.start())
            if offset < 0:
                continue
            for start, end, raw, number in self._matches(text[offset : window.end()]):
                if _refused_shape(raw) or _DATE.search(raw):
                    continue
                score = self._score(text, offset + start, raw, number)
                if score is not None:
                    yield Span(self.entity_type, offset + start, offset + end, score, self.name)

    def _matches(self, window: str) -> list[_Match]:
        """Possible numbers in `window`, as (start, end, raw text, parsed number)."""
        if _refused_shape(window):
            return []
        found = self._matcher(window)
        if found or window.count(" ") < 2 or sum(char.isdigit() for char in window) <= _MIN_DIGITS:
            return found
        # The matcher gives up on a window that reads as one over-long number
        # ("+44 20 7946 0958 4111 1111 1111 1111", "12 415 555 2671"): retry without some
        # trailing groups, then without a leading one, longest piece first; once a number
        # is found, what is left of the window is tried on its own.
        gaps = [index for index, char in enumerate(window) if char == " "]
        pieces = [(0, cut) for cut in reversed(gaps[-_MAX_TRAILING_CUTS:])]
        pieces += [(gap + 1, len(window)) for gap in gaps[:_MAX_LEADING_CUTS]]
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
        if phonenumbers.is_valid_number(number):
            if raw.isdigit() and not _PHONE_WORDS.precedes(text, start):
                return None
            return self.valid_score
        if raw.startswith("+") or "(" in raw or _NANP_GROUPS.fullmatch(raw):
            return self.possible_score
        return None


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
    if len(_LONE_DIGIT.findall(candidate)) > 1:
        return True
    if candidate.startswith(("+", "(")):
        return False
    return bool(
        _SSN_SHAPE.fullmatch(candidate)
        or _IPV4_SHAPE.fullmatch(candidate)
        or _CARD_SHAPE.fullmatch(candidate)
        or _DATE.fullmatch(candidate)
    )
