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
# The boundary look-behind sits after the first digit so the pattern starts with a plain
# class, which CPython's re scans for quickly.
_IPV4 = re.compile(r"[0-9](?<![\w.][0-9])[0-9]{0,2}(?:\.[0-9]{1,3}){3}(?!\w|\.[0-9])")
# IPv6 is looked for only at a colon followed by a hex digit or another colon;
# the candidate is then read from the start of the hex group before that colon.
_IPV6_COLON = re.compile(r":(?=[0-9A-Fa-f:])")
_HEX_BEFORE = re.compile(r"[0-9A-Fa-f]{1,4}\Z")
_IPV6 = re.compile(r"[0-9A-Fa-f:]{2,39}(?:\.[0-9]{1,3}){0,3}(?![\w:]|\.[0-9])")
_IPV6_GLUED = re.compile(r"[\w:.]")
_RUN_END = re.compile(r"[^0-9A-Fa-f:.]")


class IpAddressDetector:
    """Finds IP_ADDRESS values (IPv4 and IPv6)."""

    name = "ip"
    entity_type = "IP_ADDRESS"
    trigger: re.Pattern[str] | None = re.compile(r"[0-9:](?:(?<=[0-9])\.[0-9]|(?<=:)[0-9A-Fa-f:])")
    score = 0.8

    def find(self, text: str) -> Iterator[Span]:
        for match in _IPV4.finditer(text):
            if _valid(ipaddress.IPv4Address, match.group()):
                yield Span(self.entity_type, match.start(), match.end(), self.score, self.name)
        yield from self._find_ipv6(text)

    def _find_ipv6(self, text: str) -> Iterator[Span]:
        position = 0
        while colon := _IPV6_COLON.search(text, position):
            hex_before = _HEX_BEFORE.search(text, max(0, colon.start() - 4), colon.start())
            start = hex_before.start() if hex_before else colon.start()
            candidate = _IPV6.match(text, start)
            if candidate and not (start and _IPV6_GLUED.match(text, start - 1)):
                value = candidate.group()
                if any(c.isdigit() for c in value) and _valid(ipaddress.IPv6Address, value):
                    yield Span(self.entity_type, start, candidate.end(), self.score, self.name)
                    position = candidate.end()
                    continue
            # Any later start inside this run of hex digits and colons would be glued to it.
            run_end = _RUN_END.search(text, colon.end())
            position = run_end.start() if run_end else len(text)


def _valid(kind: type[ipaddress.IPv4Address] | type[ipaddress.IPv6Address], candidate: str) -> bool:
    try:
        kind(candidate)
    except ValueError:
        return False
    return True
