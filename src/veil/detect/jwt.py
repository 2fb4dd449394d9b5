"""JSON Web Tokens: three base64url segments whose first decodes to a JSON header with "alg".

The header check is what separates a token from any other dotted base64 run. An empty
signature is allowed, since unsecured tokens (`"alg": "none"`) end with the final dot.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator

from veil.detect.base import Span

# `eyJ` is base64url for `{"`, the start of every JSON header. The boundary look-behind
# follows that literal so the scan can use the fast literal search.
_TOKEN = re.compile(
    r"(eyJ(?<![A-Za-z0-9_\-.]eyJ)[A-Za-z0-9_\-]+)\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*(?![A-Za-z0-9_\-.])"
)


def jwt_header(segment: str) -> dict[str, object] | None:
    """The decoded header segment, or None when it is not a JSON object."""
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        header = json.loads(raw)
    except (binascii.Error, ValueError):
        return None
    return header if isinstance(header, dict) else None


class JwtDetector:
    """Finds JWT values."""

    name = "jwt"
    entity_type = "JWT"
    trigger: re.Pattern[str] | None = re.compile("eyJ")
    score = 0.97

    def find(self, text: str) -> Iterator[Span]:
        for match in _TOKEN.finditer(text):
            header = jwt_header(match.group(1))
            if header is not None and "alg" in header:
                yield Span(self.entity_type, match.start(), match.end(), self.score, self.name)
