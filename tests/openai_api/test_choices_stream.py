"""ChoicesStreamRewriter on its own (chat and legacy completions), with channels that hold
everything back until they finish, so what is streamed and what is whole shows."""

from __future__ import annotations

import json
from typing import Any

import pytest

from veil.errors import UpstreamTruncated
from veil.openai_api.chat import chat_stream
from veil.openai_api.choices import DONE, ChoicesStreamRewriter
from veil.openai_api.completions import completions_stream


class Holding:
    """Holds every delta until it finishes, then gives them back in angle brackets."""

    def __init__(self) -> None:
        self._held: list[str] = []

    def feed(self, delta: str) -> str:
        self._held.append(delta)
        return ""

    def finish(self) -> str:
        return f"<{''.join(self._held)}>" if self._held else ""


def chunk(*choices: dict[str, Any], **top: Any) -> str:
    return json.dumps({"id": "c", "object": "chat.completion.chunk", **top, "choices": list(choices)})


def delta(text: str, index: int = 0, finish: str | None = None) -> dict[str, Any]:
    return {"index": index, "delta": {"content": text}, "finish_reason": finish}


def rewrite(rewriter: ChoicesStreamRewriter, *payloads: str) -> list[Any]:
    out = [p for payload in payloads for p in rewriter.rewrite(payload)]
    return [p if p == DONE else json.loads(p) for p in out]


def test_an_error_object_is_filtered_whole_in_its_event() -> None:
    """The upstream's error mid-stream is no delta of a text: its message and code reach
    the client whole, at once (a channel would hold back their last words)."""
    rewriter = ChoicesStreamRewriter(lambda json_string: Holding())
    error = {"message": "The server had an error", "type": "server_error", "code": "server_error"}

    out = rewrite(rewriter, chunk(delta("Hi")), json.dumps({"error": error}))

    assert out[-1] == {"error": {**error, "message": "<The server had an error>", "code": "<server_error>"}}
    assert rewriter.end_of_upstream() == [], "the upstream's error ended the stream"


def test_obfuscation_padding_is_left_alone() -> None:
    rewriter = ChoicesStreamRewriter(lambda json_string: Holding())

    out = rewrite(
        rewriter,
        chunk(delta("Hi"), obfuscation="x1Yz"),
        chunk(delta("", finish="stop"), obfuscation="Q"),
        DONE,
    )

    assert [e.get("obfuscation") for e in out[:3]] == ["x1Yz", None, "Q"], "the flushed tail has none"
    assert [e["choices"][0]["delta"]["content"] for e in out[:3]] == ["", "<Hi>", ""]
    assert out[3:] == [DONE]


def test_a_stream_cut_before_any_text_raises() -> None:
    for payloads in ([], [chunk(delta(""))]):
        rewriter = ChoicesStreamRewriter(lambda json_string: Holding())
        rewrite(rewriter, *payloads)
        with pytest.raises(UpstreamTruncated):
            rewriter.end_of_upstream()
        assert rewriter.rewrite(DONE) == [], "nothing follows a cut"


def test_every_choice_finished_is_a_whole_reply_even_without_done() -> None:
    rewriter = ChoicesStreamRewriter(lambda json_string: Holding(), choices=2)
    rewrite(rewriter, chunk(delta("a", 0), delta("b", 1)), chunk(delta("", 0, "stop")))
    with pytest.raises(UpstreamTruncated):
        rewriter.end_of_upstream()  # the second choice never finished

    rewriter = ChoicesStreamRewriter(lambda json_string: Holding(), choices=2)
    rewrite(rewriter, chunk(delta("a", 0), delta("b", 1)), chunk(delta("", 0, "stop"), delta("", 1, "stop")))
    assert rewriter.end_of_upstream() == [DONE]


class HoldingReply:
    """A request's reply filter whose channels hold everything until they finish."""

    def channel(self, json_string: bool) -> Holding:
        return Holding()


FINISHED = (chunk(delta("Hi")), chunk(delta("", finish="stop")))
USAGE = chunk(usage={"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2})


@pytest.mark.parametrize("open_stream", [chat_stream, completions_stream], ids=["chat", "completions"])
def test_with_include_usage_a_stream_cut_before_its_usage_chunk_raises(open_stream: Any) -> None:
    """Asked for usage, the reply is whole only once its usage chunk came (it follows every
    finish reason): a cut between the two is a cut like any other."""
    body = {"model": "m", "stream": True, "stream_options": {"include_usage": True}}

    rewriter = open_stream(HoldingReply(), body)
    rewrite(rewriter, *FINISHED)
    with pytest.raises(UpstreamTruncated):
        rewriter.end_of_upstream()

    rewriter = open_stream(HoldingReply(), body)
    out = rewrite(rewriter, *FINISHED, USAGE)
    assert out[-1]["usage"]["total_tokens"] == 2
    assert rewriter.end_of_upstream() == [DONE]


@pytest.mark.parametrize(
    "options", [None, {}, {"include_usage": False}, "not an object"], ids=["none", "empty", "false", "string"]
)
def test_without_include_usage_every_finish_reason_still_completes_the_stream(options: Any) -> None:
    body = {"model": "m", "stream": True, **({} if options is None else {"stream_options": options})}
    rewriter = chat_stream(HoldingReply(), body)
    rewrite(rewriter, *FINISHED)
    assert rewriter.end_of_upstream() == [DONE]
