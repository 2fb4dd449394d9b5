"""PEM private key blocks, from the BEGIN line through the matching END line.

Covers PKCS#1 (`RSA`), SEC1 (`EC`), `DSA`, `OPENSSH`, PKCS#8 (`PRIVATE KEY`,
`ENCRYPTED PRIVATE KEY`) and PGP private key blocks. A block whose END line is missing
(a paste cut short) runs to the end of the text: the key material is still there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from veil.detect.base import Span

_BLOCK = re.compile(
    r"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY((?: BLOCK)?)-----"
    r".*?(?:-----END \1PRIVATE KEY\2-----|\Z)",
    re.DOTALL,
)


class PrivateKeyDetector:
    """Finds PRIVATE_KEY values."""

    name = "private_key"
    entity_type = "PRIVATE_KEY"
    trigger: re.Pattern[str] | None = re.compile("PRIVATE KEY")
    score = 1.0

    def find(self, text: str) -> Iterator[Span]:
        for match in _BLOCK.finditer(text):
            yield Span(self.entity_type, match.start(), match.end(), self.score, self.name)
