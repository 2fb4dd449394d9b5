"""restore(pseudonymize(x)) == x, whole and at every stream split point."""

from __future__ import annotations

import itertools
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from veil.detect.analyzer import Analyzer
from veil.detect.registry import default_detectors
from veil.openai_api.chat import ChatStreamRewriter
from veil.pseudonymize.guard import ResponseGuard
from veil.pseudonymize.memory_vault import MemoryVault
from veil.pseudonymize.pseudonymizer import Pseudonymizer
from veil.pseudonymize.reply import ReplyFilter
from veil.pseudonymize.restore import Restorer

ANALYZER = Analyzer(default_detectors())
VALUES = [
    "jane.doe@example.com",
    "+44 20 7946 0958",
    "4111-1111-1111-1111",
    "901-23-4567",
    "GB82WEST12345698765432",
    "10.20.30.40",
    "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z0AbCdEfGh",
    "AKIAIOSFODNN7EXAMPLF",
]
SCOPE = "subject:test"

filler = st.text(alphabet=st.sampled_from(list("abc xyz,.!?\n<>[]_-:")), max_size=12)
documents = st.lists(st.tuples(filler, st.sampled_from(VALUES)), min_size=1, max_size=4).map(
    lambda parts: "".join(f"{text} {value} " for text, value in parts)
)


def _setup(text: str) -> tuple[str, ReplyFilter]:
    vault = MemoryVault(ttl_seconds=3600)
    masked = Pseudonymizer(ANALYZER, vault).pseudonymize(SCOPE, [text]).texts[0]
    reply = ReplyFilter(ResponseGuard(ANALYZER, vault, SCOPE), Restorer(vault, SCOPE), max_hold=8192)
    return masked, reply


def _stream(masked: str, reply: ReplyFilter, cuts: list[int]) -> str:
    rewriter = ChatStreamRewriter(reply.channel)
    bounds = [0, *sorted(set(cuts)), len(masked)]
    out = []
    for a, b in itertools.pairwise(bounds):
        event = json.dumps({"choices": [{"index": 0, "delta": {"content": masked[a:b]}}]})
        out.extend(rewriter.rewrite(event))
    out.extend(rewriter.rewrite("[DONE]"))
    assert out.count("[DONE]") == 1 and out[-1] == "[DONE]"
    return "".join(json.loads(e)["choices"][0]["delta"].get("content", "") for e in out[:-1])


@settings(max_examples=150, deadline=None)
@given(documents)
def test_whole_roundtrip(text: str) -> None:
    masked, reply = _setup(text)
    for value in VALUES:
        if value in text:
            assert value not in masked
    assert reply(masked, json_string=False) == text


@settings(max_examples=60, deadline=None)
@given(documents, st.data())
def test_stream_roundtrip_at_random_splits(text: str, data: st.DataObject) -> None:
    masked, reply = _setup(text)
    cuts = data.draw(st.lists(st.integers(1, max(1, len(masked) - 1)), max_size=20))
    assert _stream(masked, reply, cuts) == text


def test_stream_roundtrip_at_every_split_point_and_one_char_chunks() -> None:
    text = "Mail jane.doe@example.com, call +44 20 7946 0958, card 4111-1111-1111-1111. <b>[1]</b>"
    masked, _ = _setup(text)
    for cut in range(1, len(masked)):
        _, reply = _setup(text)
        assert _stream(masked, reply, [cut]) == text, cut
    _, reply = _setup(text)
    assert _stream(masked, reply, list(range(1, len(masked)))) == text


def test_new_value_split_anywhere_is_redacted_whole() -> None:
    _, reply = _setup("nothing here")
    leaked = "Contact kim.park@example.org today"
    for cut in range(1, len(leaked)):
        _, reply = _setup("nothing here")
        out = _stream(leaked, reply, [cut])
        assert out == "Contact [REDACTED_EMAIL_ADDRESS] today", cut


def test_caller_values_pass_the_guard() -> None:
    _, reply = _setup("me: jane.doe@example.com")
    # The model repeats the caller's own value verbatim (not as a token): it is theirs.
    assert reply("you are jane.doe@example.com", json_string=False) == "you are jane.doe@example.com"


def test_a_cue_already_sent_still_protects_the_value() -> None:
    _, reply = _setup("nothing here")
    out = _stream("the db password: Tr0ub4dor&3xy and more", reply, [18, 19, 25])
    assert "Tr0ub4dor" not in out and "[REDACTED_PASSWORD]" in out
