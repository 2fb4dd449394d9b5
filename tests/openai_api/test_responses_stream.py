"""ResponsesStreamRewriter on its own, with a reply filter that shows what it was asked."""

from __future__ import annotations

import json
from typing import Any

from veil.errors import UpstreamTruncated
from veil.openai_api.responses_stream import ResponsesStreamRewriter


class Holding:
    """A channel that holds everything back until it finishes, marking what it let out."""

    def __init__(self, log: list[tuple[str, bool]], json_string: bool) -> None:
        self._held: list[str] = []
        self._log = log
        self._json = json_string

    def feed(self, delta: str) -> str:
        self._held.append(delta)
        return ""

    def finish(self) -> str:
        text = "".join(self._held)
        self._log.append((text, self._json))
        return f"<{text}>" if text else ""


class Reply:
    """Whole texts come back in brackets; channels hold back until finished."""

    def __init__(self) -> None:
        self.whole: list[tuple[str, bool]] = []
        self.channels: list[tuple[str, bool]] = []

    def __call__(self, text: str, *, json_string: bool) -> str:
        self.whole.append((text, json_string))
        return f"[{text}]"

    def channel(self, json_string: bool) -> Holding:
        return Holding(self.channels, json_string)


def run(payloads: list[dict[str, Any] | str], body: dict[str, Any] | None = None) -> tuple[list[Any], Reply]:
    """The payloads the client gets, as the relay sends them (a cut stream ends in its error)."""
    reply = Reply()
    rewriter = ResponsesStreamRewriter(reply, body or {})
    out: list[str] = []
    for payload in payloads:
        out.extend(rewriter.rewrite(payload if isinstance(payload, str) else json.dumps(payload)))
    try:
        out.extend(rewriter.end_of_upstream())
    except UpstreamTruncated as cut:
        out.append(rewriter.error(cut.body()))
    return [json.loads(p) if p.startswith("{") else p for p in out], reply


AT = {"item_id": "msg_1", "output_index": 0, "content_index": 0}


def text_events(done_text: str = "Hello there") -> list[dict[str, Any]]:
    return [
        {"type": "response.created", "sequence_number": 0, "response": {"id": "r", "output": []}},
        {"type": "response.output_text.delta", "sequence_number": 1, **AT, "delta": "Hello ", "logprobs": []},
        {"type": "response.output_text.delta", "sequence_number": 2, **AT, "delta": "there", "logprobs": []},
        {"type": "response.output_text.done", "sequence_number": 3, **AT, "text": done_text},
        {
            "type": "response.content_part.done",
            "sequence_number": 4,
            **AT,
            "part": {"type": "output_text", "text": done_text, "annotations": [{"title": "t"}]},
        },
        {
            "type": "response.output_item.done",
            "sequence_number": 5,
            "output_index": 0,
            "item": {
                "id": "msg_1",
                "type": "message",
                "content": [{"type": "output_text", "text": done_text}],
            },
        },
        {
            "type": "response.completed",
            "sequence_number": 6,
            "response": {
                "id": "r",
                "instructions": "be brief",
                "output": [
                    {
                        "id": "msg_1",
                        "type": "message",
                        "content": [{"type": "output_text", "text": done_text}],
                    }
                ],
            },
        },
    ]


def test_held_text_leaves_as_one_more_delta_before_the_done_event() -> None:
    out, reply = run(text_events())
    kinds = [e["type"] for e in out]
    assert kinds == [
        "response.created",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    flushed = out[3]
    assert flushed == {
        "type": "response.output_text.delta",
        **AT,
        "logprobs": [],
        "delta": "<Hello there>",
        "sequence_number": 3,
    }
    assert [e["sequence_number"] for e in out] == list(range(8))
    assert reply.channels == [("Hello there", False)]


def test_every_event_repeating_a_text_carries_what_the_client_was_streamed() -> None:
    # The upstream's own whole text disagrees with its deltas: the client's deltas win.
    out, reply = run(text_events(done_text="Hello there, and more"))
    streamed = "".join(e["delta"] for e in out if e["type"] == "response.output_text.delta")
    assert streamed == "<Hello there>"
    done, part, item, completed = out[4:]
    assert done["text"] == part["part"]["text"] == streamed
    assert item["item"]["content"][0]["text"] == streamed
    assert completed["response"]["output"][0]["content"][0]["text"] == streamed
    assert completed["response"]["instructions"] == "[be brief]", "other strings are filtered whole"
    assert part["part"]["annotations"] == [{"title": "[t]"}]
    assert ("Hello there, and more", False) not in reply.whole


def test_a_text_streamed_without_deltas_is_filtered_once_and_repeated() -> None:
    events = [e for e in text_events() if e["type"] != "response.output_text.delta"]
    out, reply = run(events)
    texts = {out[1]["text"], out[2]["part"]["text"], out[3]["item"]["content"][0]["text"]}
    assert texts == {"[Hello there]"}
    assert reply.whole.count(("Hello there", False)) == 1


def test_function_call_arguments_are_one_json_channel_per_output_item() -> None:
    at = {"item_id": "fc_1", "output_index": 1}
    item = {"id": "fc_1", "type": "function_call", "name": "send", "call_id": "c", "arguments": '{"a": 1}'}
    out, reply = run(
        [
            {"type": "response.function_call_arguments.delta", **at, "delta": '{"a"'},
            {"type": "response.function_call_arguments.delta", **at, "delta": ": 1}"},
            {"type": "response.function_call_arguments.done", **at, "arguments": '{"a": 1}', "name": "send"},
            {"type": "response.output_item.done", "output_index": 1, "item": item},
        ]
    )
    assert reply.channels == [('{"a": 1}', True)]
    assert out[2] == {
        "type": "response.function_call_arguments.delta",
        **at,
        "delta": '<{"a": 1}>',
        "sequence_number": 2,
    }
    assert out[3]["arguments"] == out[4]["item"]["arguments"] == '<{"a": 1}>'
    assert out[3]["name"] == out[4]["item"]["name"] == "send"
    assert out[4]["item"]["call_id"] == "c"


def test_output_text_is_json_under_a_json_format_even_when_only_the_response_says_so() -> None:
    created = {
        "type": "response.created",
        "response": {"id": "r", "output": [], "text": {"format": {"type": "json_schema", "name": "x"}}},
    }
    _, reply = run([created, *text_events()[1:4]])
    assert reply.channels == [("Hello there", True)]
    _, plain = run(text_events()[1:4])
    assert plain.channels == [("Hello there", False)]


def test_reasoning_summaries_and_refusals_are_channels_of_their_own() -> None:
    summary = {"item_id": "rs", "output_index": 0, "summary_index": 0}
    refusal = {"item_id": "m", "output_index": 1, "content_index": 0}
    out, reply = run(
        [
            {"type": "response.reasoning_summary_text.delta", **summary, "delta": "think"},
            {"type": "response.refusal.delta", **refusal, "delta": "no"},
            {"type": "response.reasoning_summary_text.done", **summary, "text": "think"},
            {
                "type": "response.reasoning_summary_part.done",
                **summary,
                "part": {"type": "summary_text", "text": "x"},
            },
            {"type": "response.refusal.done", **refusal, "refusal": "no"},
        ]
    )
    assert sorted(reply.channels) == [("no", False), ("think", False)]
    assert out[3]["text"] == out[4]["part"]["text"] == "<think>"
    assert out[6]["refusal"] == "<no>"


def test_unknown_delta_families_are_channels_and_their_done_events_are_filtered_whole() -> None:
    at = {"item_id": "x", "output_index": 2}
    out, reply = run(
        [
            {"type": "response.future_text.delta", **at, "delta": "a"},
            {"type": "response.future_text.delta", **at, "delta": "b"},
            {"type": "response.future_text.done", **at, "body": "ab"},
        ]
    )
    assert reply.channels == [("ab", False)]
    assert out[2]["delta"] == "<ab>" and out[3]["body"] == "[ab]"


def test_binary_and_padding_strings_are_left_alone() -> None:
    audio = {"type": "response.audio.delta", "delta": "QUtJQQ==", "obfuscation": "xyz"}
    image = {
        "type": "response.output_item.done",
        "output_index": 0,
        "item": {"type": "image_generation_call", "result": "iVBORw0KGgo=", "id": "ig"},
    }
    reasoning = {
        "type": "response.output_item.done",
        "output_index": 1,
        "item": {"type": "reasoning", "id": "rs", "encrypted_content": "gAAAA", "summary": []},
    }
    out, reply = run([audio, image, reasoning])
    assert out[0]["delta"] == "QUtJQQ==" and out[0]["obfuscation"] == "xyz"
    assert out[1]["item"]["result"] == "iVBORw0KGgo="
    assert out[2]["item"]["encrypted_content"] == "gAAAA"
    assert reply.whole == [] and reply.channels == []


def test_nothing_is_sent_after_the_terminal_event() -> None:
    reply = Reply()
    rewriter = ResponsesStreamRewriter(reply, {})
    completed = rewriter.rewrite(json.dumps({"type": "response.completed", "response": {"output": []}}))
    assert [rewriter.ends_stream(p) for p in completed] == [True]
    assert rewriter.rewrite(json.dumps({"type": "response.output_text.delta", **AT, "delta": "late"})) == []
    assert rewriter.end_of_upstream() == []


def test_a_cut_stream_withholds_held_text_and_says_so_in_both_error_shapes() -> None:
    out, _ = run(text_events()[:3])
    assert [e["type"] for e in out] == ["response.created", *["response.output_text.delta"] * 2, "error"]
    error = out[-1]
    assert (error["code"], error["param"], error["error"]["code"]) == (
        "upstream_truncated",
        None,
        "upstream_truncated",
    )
    assert error["message"] == error["error"]["message"]
    assert all("Hello" not in json.dumps(e) for e in out)
    before_any_text, _ = run(text_events()[:1])
    assert [e["type"] for e in before_any_text] == ["response.created", "error"], "no empty answer either"


def test_events_are_written_with_their_names() -> None:
    rewriter = ResponsesStreamRewriter(Reply(), {})
    (payload,) = rewriter.rewrite('{"sequence_number": 0, "type": "response.in_progress", "response": {}}')
    assert payload.startswith('{"type":"response.in_progress"')
    assert rewriter.encode(payload) == b"event: response.in_progress\ndata: " + payload.encode() + b"\n\n"
    assert not rewriter.ends_stream(payload)
    assert rewriter.encode("not json") == b"data: not json\n\n"


def test_payloads_that_are_not_event_objects_are_filtered_whole() -> None:
    out, reply = run(["plain words", '"a json string"', '["a", {"b": "c"}]', "42"])
    assert out[:4] == ["[plain words]", '"[a json string]"', '["[a]",{"b":"[c]"}]', "42"]
    assert [text for text, _ in reply.whole] == ["plain words", "a json string", "a", "c"]
