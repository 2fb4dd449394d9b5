"""Payment card numbers: 12-19 digits, Luhn-valid, with a known issuer prefix or a card word.

Digits may be grouped by spaces or dashes, but one kind of separator per number and in
the layouts cards are printed with (4-4-4-4[-3], 4-6-5, 4-6-4), so a run of loosely
spaced numbers is not glued into a "card". Luhn passes one random digit run in ten, so
something else has to vouch for a number:
- its issuer: the prefix and length of a scheme in `_ISSUERS`; a 12- or 13-digit number
  (Maestro, old Visa) also needs the printed grouping or a card word, because runs that
  short are more often order or account numbers;
- or a card word just before it ("card", "cc", "visa", "debit"...), which also covers
  issuers missing from the table (store and fleet cards, retired ranges such as
  `35xx` outside JCB's 3528-3589). A nearer "order" or "invoice" cancels it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from veil.detect.base import Span

# The boundary look-behind sits after the first digit so the pattern starts with a plain
# class, which CPython's re scans for quickly. ASCII digits only: Luhn needs them.
# Every printed layout starts with four digits in a row.
_CANDIDATE = re.compile(r"[0-9](?<![0-9.,][0-9])[0-9]{3}(?:[ -]?[0-9]){8,15}(?![0-9])")
_GROUPED = re.compile(
    r"[0-9]{4}([ -])[0-9]{4}(?:\1[0-9]{4}){1,2}(?:\1[0-9]{1,4})?|[0-9]{4}([ -])[0-9]{6}\2[0-9]{4,5}"
)
_MIN_DIGITS = 12
_SHORT = 13  # up to this many digits, an issuer match also needs grouping or a card word
_CUE_WINDOW = 30
_BEFORE = re.compile(
    r"(?i)\b(?:(?P<cue>cards?|visa|mastercard|maestro|amex|discover|jcb|diners|unionpay|rupay|mir|cc"
    r"|credit|debit|pan|cardholder)"
    r"|(?P<veto>order|invoice|tracking|ref|reference|isbn|serial|imei|phone|tel|account|acct|iban))\b"
)
_LONG_NUMBER = re.compile(r"[0-9]{4}")
_ANY = frozenset(range(12, 20))
_STANDARD = frozenset(range(16, 20))

# (lowest prefix, highest prefix, allowed lengths); prefixes compare as equal-length strings.
_ISSUERS: tuple[tuple[str, str, frozenset[int]], ...] = (
    ("4", "4", frozenset({13, 16, 19})),  # Visa
    ("51", "55", frozenset({16})),  # Mastercard
    ("2221", "2720", frozenset({16})),  # Mastercard 2-series
    ("34", "34", frozenset({15})),  # American Express
    ("37", "37", frozenset({15})),
    ("6011", "6011", _STANDARD),  # Discover
    ("644", "649", _STANDARD),
    ("65", "65", _STANDARD),  # Discover, RuPay
    ("3528", "3589", _STANDARD),  # JCB
    ("1800", "1800", frozenset({15})),  # JCB's 15-digit ranges
    ("2131", "2131", frozenset({15})),
    ("300", "305", frozenset(range(14, 20))),  # Diners Club
    ("3095", "3095", frozenset(range(14, 20))),
    ("36", "36", frozenset(range(14, 20))),
    ("38", "39", frozenset(range(14, 20))),
    ("62", "62", _STANDARD),  # UnionPay
    ("81", "82", frozenset({16})),  # UnionPay, RuPay
    ("60", "60", frozenset({16})),  # RuPay
    ("353", "353", frozenset({16})),
    ("356", "356", frozenset({16})),
    ("2200", "2204", _STANDARD),  # Mir
    ("31", "31", frozenset({19})),  # China T-Union
    ("636", "636", _STANDARD),  # InterPayment
    ("5018", "5018", _ANY),  # Maestro, 12-19 digits
    ("5020", "5020", _ANY),
    ("5038", "5038", _ANY),
    ("5893", "5893", _ANY),
    ("6304", "6304", _ANY),  # Maestro, Laser
    ("6759", "6759", _ANY),  # Maestro UK
    ("6761", "6763", _ANY),
    ("6706", "6706", _STANDARD),  # Laser
    ("6709", "6709", _STANDARD),
    ("6771", "6771", _STANDARD),
    ("506099", "506198", frozenset({16, 18, 19})),  # Verve
    ("507865", "507964", frozenset({16, 18, 19})),
    ("508", "508", frozenset({16})),  # RuPay
    ("5019", "5019", frozenset({16})),  # Dankort
    ("9792", "9792", frozenset({16})),  # Troy
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


def card_word_before(text: str, start: int) -> bool:
    """A card word in the few characters before `start`, with no nearer "order" or "invoice"
    and no other long number in between (in "card 4111... and 1234...", it speaks for the
    first)."""
    words = list(_BEFORE.finditer(text, max(0, start - _CUE_WINDOW), start))
    if not words or words[-1].group("cue") is None:
        return False
    return _LONG_NUMBER.search(text, words[-1].end(), start) is None


class CardDetector:
    """Finds CREDIT_CARD values."""

    name = "card"
    entity_type = "CREDIT_CARD"
    trigger: re.Pattern[str] | None = re.compile(r"[0-9][0-9]{3}")
    score = 0.95

    def find(self, text: str) -> Iterator[Span]:
        position = 0
        while match := _CANDIDATE.search(text, position):
            length = _card_length(text, match.start(), match.group())
            if length:
                yield Span(self.entity_type, match.start(), match.start() + length, self.score, self.name)
                position = match.start() + length
            else:
                # A card can sit after other digits ("ref 12 4111 1111 1111 1111"): retry
                # from the next digit instead of skipping the whole rejected run.
                position = match.start() + 1


def _card_length(text: str, start: int, raw: str) -> int:
    """Length of the longest prefix of `raw` (found at `start`) that is a card, cut at a
    separator; 0 if none.

    The candidate regex is greedy, so a card followed by more digits ("4242424242424242 12/34")
    arrives with a tail attached.
    """
    ends: list[int] = []
    digit_count = 0
    for index, char in enumerate(raw):
        if char in " -" and digit_count >= _MIN_DIGITS:
            ends.append(index)
        digit_count += char not in " -"
    ends.append(len(raw))
    for end in reversed(ends):
        piece = raw[:end]
        digits = piece.replace(" ", "").replace("-", "")
        grouped = _GROUPED.fullmatch(piece) is not None
        if not (piece.isdigit() or grouped) or not luhn_valid(digits):
            continue
        if (known_issuer(digits) and (len(digits) > _SHORT or grouped)) or card_word_before(text, start):
            return end
    return 0
