"""Words that make an ambiguous value believable when they appear just before it.

A bare nine-digit run is an SSN only after "SSN:"; a 40-character base64 run is an AWS
secret only near "secret access key". Detectors ask a `ContextCue` instead of each
writing their own look-behind arithmetic.
"""

from __future__ import annotations

import re


class ContextCue:
    """A pattern searched for in the `window` characters that end where a candidate starts."""

    def __init__(self, pattern: re.Pattern[str], window: int) -> None:
        self.pattern = pattern
        self.window = window

    def precedes(self, text: str, start: int) -> bool:
        return self.pattern.search(text, max(0, start - self.window), start) is not None
