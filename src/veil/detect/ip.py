"""IP addresses: candidates by regex, validated by the standard library's `ipaddress`.

IPv4 needs exactly four dotted parts that are not part of a longer dotted run, so
`1.2.3` and `1.2.3.4.5` are refused while `version 1.2.3.4` is accepted: four-part
version strings are indistinguishable from addresses, and treating one as an address
costs a placeholder, not a leak. `ipaddress` refuses leading zeros (`01.02.03.04`),
which are ambiguous (octal in some parsers), so those are refused too.

IPv6 candidates need two colons and a decimal digit; `ipaddress` then refuses times
(`12:30:45`), MAC addresses and `C++::scopes`. Compressed forms (`::1`,
`2001:db8::ff00:42:8329`) and IPv4-mapped tails (`::ffff:192.0.2.1`) are accepted.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

from veil.detect.base import Span

# A trailing full stop is allowed (end of sentence); a further dotted part is not.
_IPV4 = re.compile(r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?!\w|\.\d)")
_IPV6 = re.compile(
    r"(?<![\w:.])(?=[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:)[0-9A-Fa-f:]{2,39}(?:\.\d{1,3}){0,3}(?![\w:]|\.\d)"
)


class IpAddressDetector:
    """Finds IP_ADDRESS values (IPv4 and IPv6)."""

    name = "ip"
    entity_type = "IP_ADDRESS"
    trigger: re.Pattern[str] | None = re.compile(r"\d\.\d|[0-9A-Fa-f]?::?[0-9A-Fa-f]")
    score = 0.8

    def find(self, text: str) -> Iterator[Span]:
        for match in _IPV4.finditer(text):
            if _valid(ipaddress.IPv4Address, match.group()):
                yield Span(self.entity_type, match.start(), match.end(), self.score, self.name)
        if ":" not in text:
            return
        for match in _IPV6.finditer(text):
            candidate = match.group()
            if any(c.isdigit() for c in candidate) and _valid(ipaddress.IPv6Address, candidate):
                yield Span(self.entity_type, match.start(), match.end(), self.score, self.name)


def _valid(kind: type[ipaddress.IPv4Address] | type[ipaddress.IPv6Address], candidate: str) -> bool:
    try:
        kind(candidate)
    except ValueError:
        return False
    return True
