"""Payment card numbers: 13-19 digits, Luhn-valid, with a known issuer prefix.

Digits may be grouped by spaces or dashes, but one kind of separator per number and in
the layouts cards are printed with (4-4-4-4[-3], 4-6-5, 4-6-4), so a run of loosely
spaced numbers is not glued into a "card". The issuer table keeps Luhn's one-in-ten
false positives on random digit runs from becoming findings.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from veil.detect.base import Span

# The boundary look-behind sits after the first digit so the pattern starts with a plain
# class, which CPython's re scans for quickly. ASCII digits only: Luhn needs them.
# Every printed layout starts with four digits in a row.
_CANDIDATE = re.compile(r"[0-9](?<![0-9.,][0-9])[0-9]{3}(?:[ -]?[0-9]){9,15}(?![0-9])")
_GROUPED = re.compile(
    r"[0-9]{4}([ -])[0-9]{4}(?:\1[0-9]{4}){1,2}(?:\1[0-9]{1,4})?|[0-9]{4}([ -])[0-9]{6}\2[0-9]{4,5}"
)

# (lowest prefix, highest prefix, allowed lengths); prefixes compare as equal-length strings.
_ISSUERS: tuple[tuple[str, str, frozenset[int]], ...] = (
    ("4", "4", frozenset({13, 16, 19})),  # Visa
    ("51", "55", frozenset({16})),  # Mastercard
    ("2221", "2720", frozenset({16})),  # Mastercard 2-series
    ("34", "34", frozenset({15})),  # American Express
    ("37", "37", frozenset({15})),
    ("6011", "6011", frozenset({16, 19})),  # Discover
    ("644", "649", frozenset({16, 19})),
    ("65", "65", frozenset({16, 19})),
    ("3528", "3589", frozenset({16, 17, 18, 19})),  # JCB
    ("300", "305", frozenset(range(14, 20))),  # Diners Club
    ("36", "36", frozenset(range(14, 20))),
    ("38", "39", frozenset(range(16, 20))),
    ("62", "62", frozenset(range(16, 20))),  # UnionPay
    ("2200", "2204", frozenset(range(16, 20))),  # Mir
    ("5018", "5018", frozenset(range(13, 20))),  # Maestro
    ("5020", "5020", frozenset(range(13, 20))),
    ("5038", "5038", frozenset(range(13, 20))),
    ("5893", "5893", frozenset(range(13, 20))),
    ("6304", "6304", frozenset(range(13, 20))),
    ("6759", "6759", frozenset(range(13, 20))),
    ("6761", "6763", frozenset(range(13, 20))),
)


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check over a string of ASCII digits."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def known_issuer(digits: str) -> bool:
    """Whether an issuer uses this prefix with this many digits."""
    return any(
        low <= digits[: len(low)] <= high and len(digits) in lengths for low, high, lengths in _ISSUERS
    )


class CardDetector:
    """Finds CREDIT_CARD values."""

    name = "card"
    entity_type = "CREDIT_CARD"
    trigger: re.Pattern[str] | None = re.compile(r"[0-9][0-9]{3}")
    score = 0.95

    def find(self, text: str) -> Iterator[Span]:
        position = 0
        while match := _CANDIDATE.search(text, position):
            length = _card_length(match.group())
            if length:
                yield Span(self.entity_type, match.start(), match.start() + length, self.score, self.name)
                position = match.start() + length
            else:
                # A card can sit after other digits ("ref 12 4111 1111 1111 1111"): retry
                # from the next digit instead of skipping the whole rejected run.
                position = match.start() + 1


def _card_length(raw: str) -> int:
    """Length of the longest prefix of `raw` that is a card, cut at a separator; 0 if none.

    The candidate regex is greedy, so a card followed by more digits ("4242424242424242 12/34")
    arrives with a tail attached.
    """
    ends: list[int] = []
    digit_count = 0
    for index, char in enumerate(raw):
        if char in " -" and digit_count >= 13:
            ends.append(index)
        digit_count += char not in " -"
    ends.append(len(raw))
    for end in reversed(ends):
        piece = raw[:end]
        digits = piece.replace(" ", "").replace("-", "")
        if (piece.isdigit() or _GROUPED.fullmatch(piece)) and luhn_valid(digits) and known_issuer(digits):
            return end
    return 0
