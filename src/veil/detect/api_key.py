"""Vendor API keys recognisable by their prefix (OpenAI, Anthropic, GitHub, Slack, Stripe, Google).

Every pattern is anchored on a vendor prefix and requires a body long enough to be a
real key; bodies that never contain a digit (`sk-learn-compatible-estimator`) are
refused, since generated keys practically always have one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from veil.detect.base import Span

_BODY = r"[A-Za-z0-9_\-]"

# Ordered so that the more specific prefix wins where two could start at one place.
_KEYS = re.compile(
    r"(?<![A-Za-z0-9_\-])(?:"
    rf"sk-ant-(?:api|admin)\d\d-{_BODY}{{32,}}"  # Anthropic
    rf"|sk-(?:proj|svcacct|admin)-{_BODY}{{20,}}"  # OpenAI project, service-account, admin
    r"|sk-[A-Za-z0-9]{20,}"  # OpenAI legacy / user keys
    r"|gh[pousr]_[A-Za-z0-9]{30,255}"  # GitHub tokens
    r"|github_pat_[A-Za-z0-9_]{22,255}"  # GitHub fine-grained PAT
    r"|xox[abprs]-[A-Za-z0-9\-]{10,}"  # Slack tokens
    r"|xapp-\d-[A-Za-z0-9\-]{10,}"  # Slack app-level tokens
    r"|(?:https?://)?hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/\-]{10,}"
    r"|(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{10,}"  # Stripe
    r"|whsec_[A-Za-z0-9]{20,}"  # Stripe webhook signing secret
    rf"|AIza{_BODY}{{35}}"  # Google API key
    r")(?![A-Za-z0-9_\-])"
)

_TRIGGER = re.compile(r"sk[-_]|[rp]k_|gh[pousr]_|github_pat_|xox|xapp-|hooks\.slack|whsec_|AIza")


class ApiKeyDetector:
    """Finds API_KEY values."""

    name = "api_key"
    entity_type = "API_KEY"
    trigger: re.Pattern[str] | None = _TRIGGER
    score = 0.95

    def find(self, text: str) -> Iterator[Span]:
        for match in _KEYS.finditer(text):
            if any(char.isdigit() for char in match.group()):
                yield Span(self.entity_type, match.start(), match.end(), self.score, self.name)
