"""US Social Security numbers: `AAA-GG-SSSS` or `AAA GG SSSS`, or nine bare digits after a cue.

Areas 900-999 are accepted on purpose. The SSA never issues them as SSNs, but the same
space holds ITINs and other taxpayer ids, which are just as personal, and test fixtures
(including the leak harness Veil is measured with) use 9xx-01..49-xxxx values. Refused:
area 000 or 666, group 00, serial 0000, one digit repeated, and numbers that are famous
for being invalid (the Woolworth wallet card 078-05-1120, the 1940s ad 219-09-9999,
123-45-6789 and the 987-65-4320..4329 block reserved for advertising).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from veil.detect.base import Span
from veil.detect.context import ContextCue

# Boundary look-behinds sit after the first digit so each pattern starts with a plain
# class, which CPython's re scans for quickly.
_FORMATTED = re.compile(r"([0-9](?<![0-9\-][0-9])[0-9]{2})([- ])([0-9]{2})\2([0-9]{4})(?![0-9\-])")
_BARE = re.compile(r"([0-9](?<![0-9\-][0-9])[0-9]{2})([0-9]{2})([0-9]{4})(?![0-9\-])")

_SSN_WORDS = ContextCue(
    re.compile(r"(?i)\b(?:ssn|ss#|ssa|social\s+security|soc\.?\s*sec|taxpayer|itin|tin)\b"),
    window=30,
)

_KNOWN_INVALID = frozenset(
    {"078051120", "219099999", "123456789", *(f"98765432{n}" for n in range(10))},
)


def ssn_plausible(area: str, group: str, serial: str) -> bool:
    """Whether the parts could belong to a real person (see the module docstring)."""
    digits = area + group + serial
    return not (
        area in ("000", "666")
        or group == "00"
        or serial == "0000"
        or len(set(digits)) == 1
        or digits in _KNOWN_INVALID
    )


class SsnDetector:
    """Finds US_SSN values."""

    name = "ssn"
    entity_type = "US_SSN"
    trigger: re.Pattern[str] | None = re.compile(r"[0-9][0-9]{2}[- ]?[0-9]{2}[- ]?[0-9]{4}")
    formatted_score = 0.85
    bare_score = 0.75

    def find(self, text: str) -> Iterator[Span]:
        for match in _FORMATTED.finditer(text):
            if ssn_plausible(match.group(1), match.group(3), match.group(4)):
                yield Span(self.entity_type, match.start(), match.end(), self.formatted_score, self.name)
        for match in _BARE.finditer(text):
            if ssn_plausible(*match.groups()) and _SSN_WORDS.precedes(text, match.start()):
                yield Span(self.entity_type, match.start(), match.end(), self.bare_score, self.name)
