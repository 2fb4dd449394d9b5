"""Replies made of choices (Chat Completions, legacy Completions), whole and streamed.

A streamed reply is a set of text channels, one per string field and choice (content,
refusal, text, each tool call's arguments, and any field the API adds later), each
filtered on its own: first the guard (redact values the caller never sent), then the
restorer (tokens back to values). Whatever a channel still holds when its choice
finishes, or when the stream ends, is sent in an extra chunk shaped like the upstream's.
Strings outside `choices` (an `error` the upstream sends mid-stream) are whole in their
event, and filtered whole.

The reply is complete at `[DONE]`, or once every choice has its finish reason (some
compatible servers leave `[DONE]` out) and, when the request asked for usage
(`stream_options.include_usage`), the usage chunk that follows them has come; a stream
that ends before either was cut.

`json_fields` names the fields whose text is (part of) a JSON document — tool-call
`arguments`, and chat `content` under a JSON response format — where restored values
are JSON-escaped so the document stays valid.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

import orjson

from veil.errors import UpstreamTruncated
from veil.openai_api.reply_json import load_reply_json
from veil.openai_api.rewriter import TextFilter, WholeTextFilter
from veil.openai_api.sse import encode_event
from veil.openai_api.text_fields import BINARY_KEYS, STRUCTURAL_KEYS, text_slots

DONE = "[DONE]"
# In a reply, `name` only ever names a function; `obfuscation` is random padding.
_NOT_TEXT = STRUCTURAL_KEYS | BINARY_KEYS | {"name", "obfuscation"}
ARGUMENTS = frozenset({"arguments"})

# A path element: a dict key, ("#", n) for a list item carrying `"index": n`, or
# ("@", n) for the n-th item of a list without indices.
PathElement = str | tuple[str, Any]
Path = tuple[PathElement, ...]


def rewrite_document(
    document: Any, rewrite: WholeTextFilter, json_fields: Collection[str] = ARGUMENTS
) -> Any:
    """A non-streamed reply with every free-text string rewritten, in place."""
    for slot in text_slots(document):
        slot.set(rewrite(slot.get(), json_string=slot.key in json_fields))
    return document


class ChoicesStreamRewriter:
    """Rewrites a stream of choice chunks ending in `[DONE]`, payload by payload.

    `choices` is how many choices the reply has (the request's `n`, per prompt);
    `usage`: the request asked for a usage chunk, so the reply is not whole without it.
    """

    def __init__(
        self,
        open_channel: Callable[[bool], TextFilter],
        json_fields: Collection[str] = ARGUMENTS,
        *,
        choices: int = 1,
        usage: bool = False,
    ) -> None:
        self._open_channel = open_channel
        self._json_fields = frozenset(json_fields)
        self._channels: dict[Path, TextFilter] = {}
        self._last_event: dict[str, Any] = {}
        self._choices = choices
        self._seen: set[PathElement] = set()
        self._finished: set[PathElement] = set()
        # The usage chunk still to come (it follows every choice's finish reason).
        self._usage_due = usage
        # The upstream sent its own error event: that error, not a cut, ends the stream.
        self._failed = False
        self._done = False

    def rewrite(self, payload: str) -> list[str]:
        """The payloads to send for one upstream payload (none, one, or several)."""
        if self._done:
            return []
        if payload.strip() == DONE:
            return self.finish()
        try:
            event = load_reply_json(payload)
        except ValueError:
            # Not JSON (or numbers beyond 64 bits), but it would reach the client:
            # filter it as one whole text.
            return [self._whole(payload)]
        if isinstance(event, str):
            return [_dumps(self._whole(event))]
        if isinstance(event, dict):
            self._last_event = event
            self._failed = self._failed or bool(event.get("error"))
            if isinstance(event.get("usage"), dict):
                self._usage_due = False
        elif not isinstance(event, list):
            return [payload]  # a number, true, false or null
        for path, container, key in _string_leaves(event):
            if path[0] != "choices":
                container[key] = self._whole(container[key])
                continue
            channel: TextFilter | None = self._channels.get(path)
            if channel is None:
                channel = self._channels[path] = self._open_channel(path[-1] in self._json_fields)
            container[key] = channel.feed(container[key])
        out = []
        for choice in (event.get("choices") if isinstance(event, dict) else None) or ():
            if isinstance(choice, dict):
                key = _choice_key(choice)
                self._seen.add(key)
                if choice.get("finish_reason"):
                    self._finished.add(key)
                    out.extend(self._flush(key))
        out.append(_dumps(event))
        return out

    def finish(self) -> list[str]:
        """Flush every channel and close the stream with exactly one [DONE]."""
        if self._done:
            return []
        out = self._flush(None)
        self._done = True
        return [*out, DONE]

    def end_of_upstream(self) -> list[str]:
        """The upstream closed its stream. A complete reply without [DONE] (every choice
        finished, and the usage chunk came if it was asked for) gets its held text and
        [DONE]. Otherwise the stream was cut: text still held back may be half a
        value and is withheld, and UpstreamTruncated says so (after the upstream's own
        error event, that error already did)."""
        if self._done:
            return []
        if not self._failed and not self._usage_due and self._all_finished():
            return self.finish()
        self._channels.clear()
        self._done = True
        if self._failed:
            return []
        raise UpstreamTruncated()

    def ends_stream(self, payload: str) -> bool:
        return payload == DONE

    def error(self, body: dict[str, Any]) -> str:
        return _dumps(body)

    def encode(self, payload: str) -> bytes:
        return encode_event(payload)

    def _all_finished(self) -> bool:
        return self._finished >= self._seen and len(self._finished) >= self._choices

    def _flush(self, choice: PathElement | None) -> list[str]:
        """Finish the channels of one choice (all channels when `choice` is None)."""
        out = []
        for path in [p for p in self._channels if choice is None or _choice_of(p) == choice]:
            text = self._channels.pop(path).finish()
            if text:
                # Shaped like the upstream's own chunks: its ids, model and timestamp.
                event = {k: v for k, v in self._last_event.items() if k in STRUCTURAL_KEYS or k == "created"}
                _place(event, path, text)
                out.append(_dumps(event))
        return out

    def _whole(self, text: str) -> str:
        """A text complete in its event, filtered on its own."""
        channel = self._open_channel(False)
        return channel.feed(text) + channel.finish()


def replies_per_prompt(body: Mapping[str, Any]) -> int:
    """The request's `n`: how many choices each prompt gets."""
    n = body.get("n")
    return n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else 1


def usage_asked(body: Mapping[str, Any]) -> bool:
    """The request asked for a usage chunk at the stream's end (`stream_options.include_usage`)."""
    options = body.get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True


def _dumps(document: Any) -> str:
    return orjson.dumps(document).decode()


def _choice_key(choice: dict[str, Any]) -> PathElement:
    return ("#", choice["index"]) if "index" in choice else ("@", 0)


def _choice_of(path: Path) -> PathElement | None:
    return path[1] if len(path) > 1 and path[0] == "choices" else None


def _string_leaves(root: Any) -> list[tuple[Path, Any, Any]]:
    """(path, container, key) of every free-text string, in document order."""
    leaves: list[tuple[Path, Any, Any]] = []
    _collect_leaves(root, (), leaves)
    return leaves


def _collect_leaves(node: Any, path: Path, leaves: list[tuple[Path, Any, Any]]) -> None:
    # Runs for every streamed event: exact type checks and plain recursion measured
    # fastest (nested generators cost more than the filtering itself).
    if type(node) is dict:
        for key, value in node.items():
            kind = type(value)
            if kind is str:
                if key not in _NOT_TEXT:
                    leaves.append(((*path, key), node, key))
            elif kind is dict or kind is list:
                _collect_leaves(value, (*path, key), leaves)
    else:
        for position, value in enumerate(node):
            kind = type(value)
            if kind is str:
                leaves.append(((*path, ("@", position)), node, position))
            elif kind is dict:
                element = ("#", value["index"]) if "index" in value else ("@", position)
                _collect_leaves(value, (*path, element), leaves)
            elif kind is list:
                _collect_leaves(value, (*path, ("@", position)), leaves)


def _place(event: dict[str, Any], path: Path, text: str) -> None:
    """Build, inside `event`, the nested shape that carries `text` at `path`."""
    event[path[0]] = _shape(path[1:], text)  # type: ignore[index]


def _shape(path: Path, text: str) -> Any:
    if not path:
        return text
    head, rest = path[0], path[1:]
    if isinstance(head, tuple):
        kind, value = head
        inner = _shape(rest, text)
        if kind == "#" and isinstance(inner, dict):
            inner = {"index": value, **inner}
        return [inner]
    return {head: _shape(rest, text)}
