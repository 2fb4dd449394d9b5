"""What reaches the provider: corpus samples sent through a gateway, the upstream's copy searched.

Detection quality measured end to end, the same way for every gateway whatever its internals:
each sample of the labelled corpus is sent as one user message; the fake upstream keeps the
body it received (`bench.peers.upstream`, `GET /recorded`), and each gold value of a targeted
type is looked for, verbatim, in the messages it carries. A value found there reached the
provider, whatever the gateway's detector reported, so this also counts values a gateway found
but then failed to replace (or replaced with a mangled neighbour). A value that also occurs
elsewhere in the sample counts as reached if any copy of it arrives.

The upstream answers with the message as it received it (model `mirror`), so the same request
also shows whether the round trip holds: a gateway that restores its placeholders hands the
client back exactly the text it sent.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import httpx

from bench.latency import CHAT, check
from bench.peers.upstream import MIRROR
from veil.evaluation import GOLD_TYPES, STRUCTURED, TARGETED, Sample


@dataclass
class Exposure:
    """Gold values of each targeted type and how many reached the upstream; samples whose
    quoted-back reply reached the client exactly as sent."""

    gold: Counter[str] = field(default_factory=Counter)
    reached: Counter[str] = field(default_factory=Counter)
    samples: int = 0
    intact: int = 0

    def kept(self, types: frozenset[str]) -> tuple[int, float | None]:
        """(gold values of `types`, share of them the upstream never saw)."""
        gold = sum(self.gold[t] for t in types)
        reached = sum(self.reached[t] for t in types)
        return gold, (None if not gold else 1 - reached / gold)


def exposure(
    http: httpx.Client,
    target_url: str,
    upstream_url: str,
    samples: Sequence[Sample],
    headers: Mapping[str, str],
) -> Exposure:
    result = Exposure()
    for sample in samples:
        body = json.dumps({"model": MIRROR, "messages": [{"role": "user", "content": sample.text}]})
        reply = http.post(target_url + CHAT, content=body, headers=headers)
        check(reply, target_url)
        result.samples += 1
        result.intact += json.loads(reply.content)["choices"][0]["message"]["content"] == sample.text
        forwarded = _message_text(json.loads(http.get(upstream_url + "/recorded").content))
        for span in sample.spans:
            kind = GOLD_TYPES.get(span.type, span.type)
            value = sample.text[span.start : span.end].strip()
            if kind is None or kind not in TARGETED or not value:
                continue
            result.gold[kind] += 1
            if value in forwarded:
                result.reached[kind] += 1
    return result


def _message_text(document: Mapping[str, object]) -> str:
    messages = document.get("messages")
    if not isinstance(messages, list):
        raise RuntimeError("the upstream recorded no chat messages")
    return "\n".join(str(m.get("content")) for m in messages if isinstance(m, dict))


ROWS: tuple[tuple[str, frozenset[str]], ...] = (
    ("PERSON", frozenset({"PERSON"})),
    ("LOCATION", frozenset({"LOCATION"})),
    ("STREET_ADDRESS", frozenset({"STREET_ADDRESS"})),
    ("ORGANIZATION", frozenset({"ORGANIZATION"})),
    ("NRP", frozenset({"NRP"})),
    ("structured", STRUCTURED),
    ("all targeted", TARGETED),
)
