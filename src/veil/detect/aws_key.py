"""AWS credentials: access key ids by their prefix, secret keys only in context.

A secret access key is 40 characters of base64 with nothing to recognise it by, so it
is reported only when it follows, within 80 characters, either the word "secret" (as in
`aws_secret_access_key`, `SecretAccessKey`, "secret key") or an access key id: the two
are usually pasted together.

The trigger is a key id prefix or the word "secret", the two cues every finding needs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from veil.detect.base import Span

# Access key ids (AKIA), temporary ones (ASIA), and the ids of other IAM resources. The
# boundary look-behind follows the literal `A` so the scan can use the fast literal search.
_KEY_ID = re.compile(
    r"A(?<![A-Z0-9]A)(?:3T[A-Z0-9]|KIA|SIA|GPA|IDA|ROA|IPA|NPA|NVA|BIA|CCA)[A-Z0-9]{16}(?![A-Z0-9])"
)
_SECRET_WORD = re.compile(r"(?i)secret")
_SECRET = re.compile(r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
_CUE_REACH = 80


class AwsKeyDetector:
    """Finds AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY values."""

    name = "aws_key"
    trigger: re.Pattern[str] | None = re.compile(
        r"A(?:3T|KIA|SIA|GPA|IDA|ROA|IPA|NPA|NVA|BIA|CCA)|(?i:secret)"
    )
    key_id_score = 0.95
    secret_score = 0.9

    def find(self, text: str) -> Iterator[Span]:
        cues: list[int] = []
        for key_id in _KEY_ID.finditer(text):
            cues.append(key_id.end())
            yield Span("AWS_ACCESS_KEY_ID", key_id.start(), key_id.end(), self.key_id_score, self.name)
        if "secret" in text.lower():
            cues.extend(word.end() for word in _SECRET_WORD.finditer(text))
        reported: set[int] = set()
        for cue in sorted(cues):
            for start, end in _secrets_after(text, cue):
                if start not in reported:
                    reported.add(start)
                    yield Span("AWS_SECRET_ACCESS_KEY", start, end, self.secret_score, self.name)


def _secrets_after(text: str, cue: int) -> Iterator[tuple[int, int]]:
    """Secret-shaped runs starting within reach after `cue`."""
    # The window leaves room for one character after any run that starts in reach, so
    # the look-ahead still sees whether the run goes on past 40 characters.
    position, window_end = cue, min(len(text), cue + _CUE_REACH + 41)
    while (secret := _SECRET.search(text, position, window_end)) and secret.start() <= cue + _CUE_REACH:
        if _looks_generated(secret.group()):
            yield secret.start(), secret.end()
        position = secret.end()


def _looks_generated(value: str) -> bool:
    """Mixed case plus a digit or symbol: what 240 random bits in base64 look like."""
    return (
        any(c.islower() for c in value)
        and any(c.isupper() for c in value)
        and any(c.isdigit() or c in "/+" for c in value)
    )
