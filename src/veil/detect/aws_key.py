"""AWS credentials: access key ids by their prefix, secret keys only in context.

A secret access key is 40 characters of base64 with nothing to recognise it by, so it
is reported only when a cue precedes it: a name such as `aws_secret_access_key` or
"secret key", or an access key id a little earlier (the two are usually pasted together).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from veil.detect.base import Span
from veil.detect.context import ContextCue

# Access key ids (AKIA), temporary ones (ASIA), and the ids of other IAM resources.
_KEY_ID_TEXT = (
    r"(?<![A-Z0-9])(?:A3T[A-Z0-9]|AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Z0-9])"
)
_KEY_ID = re.compile(_KEY_ID_TEXT)
_SECRET = re.compile(r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")

_SECRET_CUE = ContextCue(
    re.compile(rf"(?i:secret[\s_\-]*(?:access[\s_\-]*)?key|aws[\s_\-]*secret)|{_KEY_ID_TEXT}"),
    window=80,
)

_TRIGGER = re.compile(r"(?:A3T|AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA)[A-Z0-9]|(?i:secret)")


class AwsKeyDetector:
    """Finds AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY values."""

    name = "aws_key"
    trigger: re.Pattern[str] | None = _TRIGGER
    key_id_score = 0.95
    secret_score = 0.9

    def find(self, text: str) -> Iterator[Span]:
        for match in _KEY_ID.finditer(text):
            yield Span("AWS_ACCESS_KEY_ID", match.start(), match.end(), self.key_id_score, self.name)
        for match in _SECRET.finditer(text):
            if _looks_generated(match.group()) and _SECRET_CUE.precedes(text, match.start()):
                yield Span("AWS_SECRET_ACCESS_KEY", match.start(), match.end(), self.secret_score, self.name)


def _looks_generated(value: str) -> bool:
    """Mixed case plus a digit or symbol: what 240 random bits in base64 look like."""
    return (
        any(c.islower() for c in value)
        and any(c.isupper() for c in value)
        and any(c.isdigit() or c in "/+" for c in value)
    )
