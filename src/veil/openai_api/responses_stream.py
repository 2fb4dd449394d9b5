"""The Responses API's event stream, rewritten event by event.

The `.delta` events of one output item and part (`response.output_text.delta`,
`response.function_call_arguments.delta`, `response.refusal.delta`, reasoning text...)
form one text channel, filtered like chat's: the guard, then the restorer, with hold-back
across deltas, so a token split across deltas is restored whole and a value split across
them is caught whole.

The `.done` events, `response.content_part.done`, `response.output_item.done` and the
terminal `response.completed` (or `failed`, `incomplete`) carry those texts whole again.
The client gets exactly the text it was streamed: the channel is finished first (what it
still held leaves as one more delta event), and its text replaces the upstream's. Every
other string (echoed instructions and tools, annotations, errors) is filtered whole.

Events are renumbered (`sequence_number`) because a flushed tail adds one, and written
with their `event:` name, as the API does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import orjson

from veil.errors import UpstreamTruncated
from veil.openai_api.reply_json import load_reply_json
from veil.openai_api.responses import json_output
from veil.openai_api.rewriter import ReplyText, TextFilter
from veil.openai_api.sse import encode_event
from veil.openai_api.text_fields import BINARY_KEYS, STRUCTURAL_KEYS

TERMINAL_TYPES = frozenset({"response.completed", "response.failed", "response.incomplete"})

# A streamed text's family (its delta event's type less `.delta`) → the output item's list
# of parts the text sits in (None: on the item itself) and its field.
_FAMILIES: dict[str, tuple[str | None, str]] = {
    "response.output_text": ("content", "text"),
    "response.refusal": ("content", "refusal"),
    "response.reasoning_text": ("content", "text"),
    "response.reasoning_summary_text": ("summary", "text"),
    "response.function_call_arguments": (None, "arguments"),
    "response.mcp_call_arguments": (None, "arguments"),
    "response.custom_tool_call_input": (None, "input"),
    "response.code_interpreter_call_code": (None, "code"),
}
# Deltas of base64 audio: not text.
_BINARY_FAMILIES = frozenset({"response.audio"})
_PART_INDEX = {"content": "content_index", "summary": "summary_index"}
_PART_EVENTS = {
    "response.content_part.added": "content",
    "response.content_part.done": "content",
    "response.reasoning_summary_part.added": "summary",
    "response.reasoning_summary_part.done": "summary",
}
_ITEM_EVENTS = frozenset({"response.output_item.added", "response.output_item.done"})
_ENVELOPE_KEYS = ("type", "item_id", "output_index", "content_index", "summary_index")
# `name` only ever names a tool here; `obfuscation` is random padding.
_NOT_TEXT = STRUCTURAL_KEYS | BINARY_KEYS | {"name", "obfuscation"}

# Where a text sits: (output index, part list or None, part index or None, field).
Location = tuple[Any, str | None, Any, str]
Event = dict[str, Any]


class ResponsesStreamRewriter:
    """Rewrites one Responses API event stream, payload by payload."""

    def __init__(self, reply: ReplyText, body: Mapping[str, Any]) -> None:
        self._reply = reply
        self._structured = json_output(body)
        self._channels: dict[Location, TextFilter] = {}
        self._sent: dict[Location, list[str]] = {}
        self._envelopes: dict[Location, dict[str, Any]] = {}
        # The texts each location was given, once final: later events repeat them exactly.
        self._final: dict[Location, str] = {}
        self._memo: dict[tuple[str, bool], str] = {}
        self._sequence: int | None = None
        # The upstream sent its own `error` event: that error, not a cut, ends the stream.
        self._failed = False
        self._done = False

    def rewrite(self, payload: str) -> list[str]:
        if self._done:
            return []
        try:
            event = load_reply_json(payload)
        except ValueError:
            return [self._whole(payload)]  # not JSON, but it would reach the client
        if isinstance(event, str):
            return [_dumps(self._whole(event))]
        if isinstance(event, list):
            self._filter_strings(event)
            return [_dumps(event)]
        if not isinstance(event, dict):
            return [payload]
        if self._sequence is None:
            first = event.get("sequence_number")
            self._sequence = first if isinstance(first, int) and not isinstance(first, bool) else 0
        out = self._rewrite_event(event)
        out.append(event)
        return [self._number(e) for e in out]

    def end_of_upstream(self) -> list[str]:
        """Without a terminal event the stream was cut: text still held back may be half a
        value and is withheld, and UpstreamTruncated says so (after the upstream's own
        `error` event, that error already did)."""
        if self._done:
            return []
        self._done = True
        self._channels.clear()
        if self._failed:
            return []
        raise UpstreamTruncated()

    def ends_stream(self, payload: str) -> bool:
        return _event_type(payload) in TERMINAL_TYPES

    def error(self, body: dict[str, Any]) -> str:
        # Both shapes: the API's documented one (code, message and param at the top) and
        # the nested `error` object it sends and the SDKs raise on.
        error = body.get("error") or {}
        event = {
            "type": "error",
            "code": error.get("code"),
            "message": error.get("message"),
            "param": error.get("param"),
            "error": error,
        }
        return self._number(event)

    def encode(self, payload: str) -> bytes:
        return encode_event(payload, _event_type(payload))

    def _rewrite_event(self, event: dict[str, Any]) -> list[Event]:
        """Rewrite `event` in place; returns the events to send before it."""
        kind = event.get("type")
        kind = kind if isinstance(kind, str) else ""
        self._failed = self._failed or kind == "error"
        response = event.get("response")
        if kind in _PART_EVENTS:
            return self._part(event, _PART_EVENTS[kind], final=kind.endswith(".done"))
        if kind in _ITEM_EVENTS and isinstance(event.get("item"), dict):
            return self._item_event(event, event["item"], final=kind.endswith(".done"))
        if kind.startswith("response.") and isinstance(response, dict):
            return self._lifecycle(event, response, final=kind in TERMINAL_TYPES)
        if kind.endswith(".delta") and isinstance(event.get("delta"), str):
            if kind[:-6] not in _BINARY_FAMILIES:
                self._delta(event, kind[:-6])
            return []
        if kind.endswith(".done") and (kind[:-5] in _FAMILIES or self._open(event, kind[:-5])):
            return self._text_done(event, kind[:-5])
        self._filter_strings(event)
        return []

    def _delta(self, event: dict[str, Any], family: str) -> None:
        location = _location(event, family)
        channel = self._channels.get(location)
        if channel is None:
            channel = self._channels[location] = self._reply.channel(self._is_json(family, location))
            self._sent[location] = []
            envelope = {k: event[k] for k in _ENVELOPE_KEYS if k in event}
            if "logprobs" in event:
                envelope["logprobs"] = []
            self._envelopes[location] = envelope
        text = channel.feed(event["delta"])
        self._sent[location].append(text)
        event["delta"] = text
        self._filter_strings(event, skip="delta")

    def _text_done(self, event: dict[str, Any], family: str) -> list[Event]:
        location = _location(event, family)
        out = self._finish(location)
        field = location[3]
        if isinstance(event.get(field), str):
            event[field] = self._text_at(location, event[field], self._is_json(family, location), final=True)
        self._filter_strings(event, skip=field)
        return out

    def _part(self, event: dict[str, Any], parts: str, *, final: bool) -> list[Event]:
        part = event.get("part")
        out: list[Event] = []
        if isinstance(part, dict):
            base = (event.get("output_index"), parts, event.get(_PART_INDEX[parts]))
            for key, value in part.items():
                if isinstance(value, str) and _is_text(key, part):
                    location = (*base, key)
                    if final:
                        out.extend(self._finish(location))
                    part[key] = self._text_at(location, value, self._is_json_part(key, part), final=final)
            self._filter_strings(part, nested_only=True)
        self._filter_strings(event, skip="part")
        return out

    def _item_event(self, event: dict[str, Any], item: dict[str, Any], *, final: bool) -> list[Event]:
        index = event.get("output_index")
        out = self._finish_all(lambda location: location[0] == index) if final else []
        self._item(index, item, final=final)
        self._filter_strings(event, skip="item")
        return out

    def _lifecycle(self, event: dict[str, Any], response: dict[str, Any], *, final: bool) -> list[Event]:
        self._structured = self._structured or json_output(response)
        out = self._finish_all(lambda location: True) if final else []
        output = response.get("output")
        if isinstance(output, list):
            for index, item in enumerate(output):
                if isinstance(item, dict):
                    self._item(index, item, final=final)
        self._filter_strings(response, skip="output")
        self._filter_strings(event, skip="response")
        self._done = final
        return out

    def _item(self, index: Any, item: dict[str, Any], *, final: bool) -> None:
        """An output item's texts: each the one its location was (or now is) given."""
        for key, value in item.items():
            if isinstance(value, str):
                if _is_text(key, item):
                    location: Location = (index, None, None, key)
                    item[key] = self._text_at(location, value, key == "arguments", final=final)
            elif key in _PART_INDEX and isinstance(value, list):
                for position, part in enumerate(value):
                    if isinstance(part, str):
                        value[position] = self._whole(part)
                    elif isinstance(part, dict):
                        for field, text in part.items():
                            if isinstance(text, str) and _is_text(field, part):
                                location = (index, key, position, field)
                                json_string = self._is_json_part(field, part)
                                part[field] = self._text_at(location, text, json_string, final=final)
                        self._filter_strings(part, nested_only=True)
                    else:
                        self._filter_strings(part)
            else:
                self._filter_strings(value)

    def _finish_all(self, which: Callable[[Location], bool]) -> list[Event]:
        return [e for location in list(self._channels) if which(location) for e in self._finish(location)]

    def _finish(self, location: Location) -> list[Event]:
        """Finish a location's channel: its text becomes final; a held tail leaves as a delta."""
        channel = self._channels.pop(location, None)
        if channel is None:
            return []
        tail = channel.finish()
        sent = self._sent.pop(location)
        sent.append(tail)
        self._final[location] = "".join(sent)
        envelope = self._envelopes.pop(location)
        return [{**envelope, "delta": tail}] if tail else []

    def _text_at(self, location: Location, raw: str, json_string: bool, *, final: bool) -> str:
        """The text for `location`: the one it was given if final already; else `raw`,
        filtered whole (and kept, if this event makes it final)."""
        known = self._final.get(location)
        if known is not None:
            return known
        text = self._whole(raw, json_string)
        if final:
            self._final[location] = text
        return text

    def _open(self, event: dict[str, Any], family: str) -> bool:
        return _location(event, family) in self._channels

    def _is_json(self, family: str, location: Location) -> bool:
        return location[3] == "arguments" or (self._structured and family == "response.output_text")

    def _is_json_part(self, field: str, part: Mapping[str, Any]) -> bool:
        return self._structured and field == "text" and part.get("type") == "output_text"

    def _whole(self, text: str, json_string: bool = False) -> str:
        if not text:
            return text
        key = (text, json_string)
        done = self._memo.get(key)
        if done is None:
            done = self._memo[key] = self._reply(text, json_string=json_string)
        return done

    def _filter_strings(self, node: Any, *, skip: str | None = None, nested_only: bool = False) -> None:
        """Filter, whole, every free-text string under `node` but `node[skip]` (with
        `nested_only`, only those in containers below `node`)."""
        for container, key in list(_strings(node, skip, nested_only)):
            container[key] = self._whole(container[key])

    def _number(self, event: dict[str, Any]) -> str:
        if self._sequence is None:
            self._sequence = 0
        event["sequence_number"] = self._sequence
        self._sequence += 1
        return _dumps(event)


def _location(event: Mapping[str, Any], family: str) -> Location:
    parts, field = _FAMILIES.get(family, (None, family))
    if parts is None and family not in _FAMILIES:
        # A family Veil does not know: its own channel, its `.done` event filtered whole.
        parts = next((p for p, k in _PART_INDEX.items() if k in event), None)
    index = event.get(_PART_INDEX[parts]) if parts else None
    return (event.get("output_index"), parts, index, field)


def _is_text(key: str, container: Mapping[str, Any]) -> bool:
    if key in _NOT_TEXT:
        return False
    return not (key == "result" and container.get("type") == "image_generation_call")


def _strings(node: Any, skip: str | None, nested_only: bool) -> Iterator[tuple[Any, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == skip:
                continue
            if isinstance(value, str):
                if not nested_only and _is_text(key, node):
                    yield node, key
            elif isinstance(value, dict | list):
                yield from _strings(value, None, False)
    elif isinstance(node, list):
        for position, value in enumerate(node):
            if isinstance(value, str):
                if not nested_only:
                    yield node, position
            elif isinstance(value, dict | list):
                yield from _strings(value, None, False)


def _event_type(payload: str) -> str | None:
    # Veil writes every event with its `type` first.
    if not payload.startswith('{"type":"'):
        return None
    end = payload.find('"', 9)
    return payload[9:end] if end != -1 else None


def _dumps(event: Any) -> str:
    if isinstance(event, dict) and "type" in event:
        event = {"type": event["type"], **event}
    return orjson.dumps(event).decode()
