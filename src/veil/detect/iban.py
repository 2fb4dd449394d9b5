"""International bank account numbers (ISO 13616), checked by length and mod 97.

The country code fixes the length, so the detector reads exactly that many characters
from the start instead of guessing where the number ends; that is what keeps a following
word ("GB82WEST12345698765432 is mine") out of the match. Input may be lower case and
either unbroken or printed in groups of four separated by single spaces.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from veil.detect.base import Span

# SWIFT IBAN registry (the ISO 13616 registration authority): country -> IBAN length.
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HN": 28, "HR": 21, "HU": 28,
    "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28,
    "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22,
    "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23,
    "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24,
    "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip

# The check digits are found first (a plain class CPython's re scans for quickly), then
# the look-behind confirms the two-letter country code and the boundary before it.
_START = re.compile(r"[0-9][0-9](?<=(?<![A-Za-z0-9])[A-Za-z]{2}[0-9]{2})(?=[ ]?[A-Za-z0-9])")


def _body_pattern(length: int) -> re.Pattern[str]:
    """The characters after the four-character prefix: unbroken, or grouped by four."""
    rest = length - 4
    groups, tail = divmod(rest, 4)
    spaced = f"(?: [A-Za-z0-9]{{4}}){{{groups}}}" + (f" [A-Za-z0-9]{{{tail}}}" if tail else "")
    return re.compile(f"(?:[A-Za-z0-9]{{{rest}}}|{spaced})(?![A-Za-z0-9])")


_BODIES = {length: _body_pattern(length) for length in set(IBAN_LENGTHS.values())}


def mod97_valid(iban: str) -> bool:
    """ISO 7064 mod 97-10 over an upper-case IBAN without spaces."""
    rearranged = iban[4:] + iban[:4]
    digits = "".join(str(int(char, 36)) for char in rearranged)
    return int(digits) % 97 == 1


class IbanDetector:
    """Finds IBAN_CODE values."""

    name = "iban"
    entity_type = "IBAN_CODE"
    trigger: re.Pattern[str] | None = re.compile(r"[0-9][0-9]")
    score = 0.95

    def find(self, text: str) -> Iterator[Span]:
        for digits in _START.finditer(text):
            start = digits.start() - 2
            length = IBAN_LENGTHS.get(text[start : start + 2].upper())
            if length is None:
                continue
            body = _BODIES[length].match(text, digits.end())
            if body is None:
                continue
            compact = (text[start : digits.end()] + body.group().replace(" ", "")).upper()
            if mod97_valid(compact):
                yield Span(self.entity_type, start, body.end(), self.score, self.name)
