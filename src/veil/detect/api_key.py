"""Vendor API keys recognisable by their prefix (OpenAI, Anthropic, GitHub, Slack, Stripe, Google).

Every pattern is anchored on a vendor prefix and requires a body long enough to be a
real key; bodies that never contain a digit (`sk-learn-compatible-estimator`) are
refused, since generated keys practically always have one.

The trigger is only "a digit": each pattern starts with its literal prefix, which
CPython's re finds with a fast substring search, so an alternation of the prefixes would
cost about as much as the scan itself. A digit is cheap to look for and lets the stream
guard skip a detection pass for most deltas of prose.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from veil.detect.base import Span

_BODY = r"[A-Za-z0-9_\-]"
_KEY_CHAR = re.compile(r"[A-Za-z0-9_\-]")


def _vendor(prefix: str, body: str) -> re.Pattern[str]:
    """`prefix` + `body`, not glued to key characters on either side."""
    return re.compile(f"{re.escape(prefix)}{body}(?![A-Za-z0-9_\\-])")


# Where two prefixes overlap (`sk-` and `sk-proj-`) both may match; the Analyzer keeps
# the longer span.
_VENDORS: tuple[re.Pattern[str], ...] = (
    _vendor("sk-ant-", rf"(?:api|admin)[0-9]{{2}}-{_BODY}{{32,}}"),  # Anthropic
    _vendor("sk-", rf"(?:proj|svcacct|admin|None)-{_BODY}{{20,}}"),  # OpenAI project/service/admin/user
    _vendor("sk-", r"[A-Za-z0-9]{20,}"),  # OpenAI legacy and user keys
    _vendor("gh", r"[pousr]_[A-Za-z0-9]{30,255}"),  # GitHub tokens
    _vendor("github_pat_", r"[A-Za-z0-9_]{22,255}"),  # GitHub fine-grained tokens
    _vendor("xox", r"[abprs]-[A-Za-z0-9\-]{10,}"),  # Slack tokens
    _vendor("xapp-", r"[0-9]-[A-Za-z0-9\-]{10,}"),  # Slack app-level tokens
    # Slack webhook URLs: the path is the secret; `https://` stays outside the span.
    _vendor("hooks.slack.com/", r"(?:services|workflows|triggers)/[A-Za-z0-9_/\-]{10,}"),
    _vendor("sk_", r"(?:live|test)_[A-Za-z0-9]{10,}"),  # Stripe secret
    _vendor("rk_", r"(?:live|test)_[A-Za-z0-9]{10,}"),  # Stripe restricted
    _vendor("pk_", r"(?:live|test)_[A-Za-z0-9]{10,}"),  # Stripe publishable
    _vendor("whsec_", r"[A-Za-z0-9]{20,}"),  # Stripe webhook signing secret
    _vendor("AIza", rf"{_BODY}{{35}}"),  # Google API key
)


class ApiKeyDetector:
    """Finds API_KEY values."""

    name = "api_key"
    entity_type = "API_KEY"
    trigger: re.Pattern[str] | None = re.compile("[0-9]")
    score = 0.95

    def find(self, text: str) -> Iterator[Span]:
        for pattern in _VENDORS:
            for match in pattern.finditer(text):
                start = match.start()
                if start and _KEY_CHAR.match(text, start - 1):
                    continue  # glued to a longer word: `task-...`, `ask_...`
                if any(char.isdigit() for char in match.group()):
                    yield Span(self.entity_type, start, match.end(), self.score, self.name)
