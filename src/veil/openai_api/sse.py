"""Server-sent events: parse the upstream's stream, write the client's."""

from __future__ import annotations

import codecs
import re

_LINE_END = re.compile(r"\r\n|\r|\n")


class SSEDecoder:
    """Turns the bytes of a text/event-stream into event payloads (the joined `data` lines).

    Fed chunk by chunk as they arrive: lines and UTF-8 characters may be split anywhere.
    One byte-order mark at the stream's start is ignored, as the specification says
    (else the first line's field name would be U+FEFF and "data", and its event lost):
    the `utf-8-sig` decoder drops it, even split across chunks, and keeps any later one.
    Comments, `event`, `id` and `retry` fields are dropped: OpenAI's streams carry
    everything in `data`, and anything else would reach the client unscanned.
    """

    def __init__(self) -> None:
        self._text = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
        self._buffer = ""
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[str]:
        """The payloads of the events completed by `chunk`."""
        return self._lines(self._buffer + self._text.decode(chunk), final=False)

    def close(self) -> list[str]:
        """The end of the stream. An event not ended by its blank line is incomplete (half a
        JSON document, maybe half a value) and, as the specification says, not dispatched."""
        payloads = self._lines(self._buffer + self._text.decode(b"", final=True), final=True)
        self._buffer = ""
        self._data.clear()
        return payloads

    def _lines(self, text: str, *, final: bool) -> list[str]:
        payloads = []
        start = 0
        for end in _LINE_END.finditer(text):
            if not final and end.group() == "\r" and end.end() == len(text):
                break  # maybe the first half of a "\r\n" split across chunks
            payload = self._line(text[start : end.start()])
            if payload is not None:
                payloads.append(payload)
            start = end.end()
        self._buffer = text[start:]
        return payloads

    def _line(self, line: str) -> str | None:
        if not line:
            if not self._data:
                return None
            payload = "\n".join(self._data)
            self._data.clear()
            return payload
        if line.startswith(":"):
            return None
        name, separator, value = line.partition(":")
        if separator and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        return None


def encode_event(payload: str, name: str | None = None) -> bytes:
    """One event; `name` becomes its `event:` line (the Responses API names each event)."""
    head = b"event: " + name.encode() + b"\n" if name and not _LINE_END.search(name) else b""
    if "\n" not in payload and "\r" not in payload:
        return head + b"data: " + payload.encode() + b"\n\n"
    lines = _LINE_END.split(payload)
    return head + ("".join(f"data: {line}\n" for line in lines) + "\n").encode()
