"""A conversation as an app sends it: every turn re-sends the whole history plus one new message.

Each target (direct, and each Veil tier) holds its own copy of every conversation, built
from its own replies: turn k sends the system message, the k-1 earlier user messages, the
k-1 replies as the client received them (through Veil: restored, so holding the real
values) and a new user message of fresh prose. The fake upstream (`model="echo"`) quotes
the first sentences of the new message back, so each reply holds names and places too.

What is new to Veil's detection cache at turn k: the new user message, and the reply to
turn k-1, which Veil analyses in the background after sending it (with NER on) so that the
next turn finds it cached. Whether it has finished depends on how soon the next turn comes:
`pause` is a wait before each timed request, the way a person reads a reply before writing
the next message (turns 2 to 9 follow each other at once): the timed turn then finds any
background work of the requests before it finished, and does not share the CPU with it.
Everything older was analysed when it was first sent. The first and the last turn are timed;
then the last body is sent once more, when every text in it has been seen (the floor a cache
can reach for that body).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx

from bench.latency import DIRECT, RequestTimings, check, post, rotation
from bench.personal import personal_prompt

SYSTEM = "You are a helpful personal assistant. Answer briefly."
SEED_BASE = 1_000_000


@dataclass
class ConversationTimings:
    """The first turn's requests, the last turn's, and the last turn's sent again."""

    first: RequestTimings
    timed: RequestTimings
    again: RequestTimings
    new_chars: list[int] = field(default_factory=list)  # new user message + previous reply
    body_bytes: list[int] = field(default_factory=list)
    mismatched: int = 0  # conversations where a Veil tier's history differed from the direct one


def conversations(
    http: httpx.Client,
    targets: Mapping[str, str],
    *,
    count: int,
    warmup: int,
    turns: int = 10,
    size: int = 1024,
    pause: float = 0.0,
) -> ConversationTimings:
    """`count` timed conversations (after `warmup` untimed ones) of `turns` turns each; the
    first and last turns are timed, each request `pause` seconds after the one before it."""
    result = ConversationTimings(*(RequestTimings.empty(targets) for _ in range(3)))
    # Seeds differ between calls with different pauses, so no prompt is ever sent twice.
    first_seed = SEED_BASE + int(pause * 1000) * 100_000
    for number in range(warmup + count):
        histories: dict[str, list[dict[str, str]]] = {
            name: [{"role": "system", "content": SYSTEM}] for name in targets
        }
        for turn in range(1, turns + 1):
            message = personal_prompt(size, seed=first_seed + number * turns + turn)
            last = turn == turns
            timed = None
            if number >= warmup:
                timed = result.timed if last else result.first if turn == 1 else None
            bodies = {}
            for name, base in rotation(number * turns + turn, targets):
                if last or turn == 1:
                    time.sleep(pause)
                messages = [*histories[name], {"role": "user", "content": message}]
                bodies[name] = json.dumps({"model": "echo", "messages": messages}).encode()
                reply = _reply(post(http, name, base, bodies[name], timed), name)
                histories[name] += [
                    {"role": "user", "content": message},
                    {"role": "assistant", "content": reply},
                ]
            if last and number >= warmup:
                previous_reply = histories[DIRECT][-3]["content"]
                result.new_chars.append(len(message) + len(previous_reply))
                result.body_bytes.append(len(bodies[DIRECT]))
                result.mismatched += any(h != histories[DIRECT] for h in histories.values())
                for name, base in rotation(number + 1, targets):
                    time.sleep(pause)
                    check(post(http, name, base, bodies[name], result.again), name)
    return result


def _reply(response: httpx.Response, name: str) -> str:
    check(response, name)
    return str(json.loads(response.content)["choices"][0]["message"]["content"])
