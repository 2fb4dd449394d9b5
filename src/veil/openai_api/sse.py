"""Server-sent events: parse the upstream's stream, write the client's."""

from __future__ import annotations


class SSEDecoder:
    """Turns lines of a text/event-stream into event payloads (the joined `data` lines).

    Comments, `event`, `id` and `retry` fields are dropped: OpenAI's streams carry
    everything in `data`, and anything else would reach the client unscanned.
    """

    def __init__(self) -> None:
        self._data: list[str] = []

    def feed_line(self, line: str) -> str | None:
        """One line without its terminator; returns a payload when an event completes."""
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

    def close(self) -> str | None:
        """A final event the upstream did not terminate with a blank line."""
        return self.feed_line("")


def encode_event(payload: str) -> bytes:
    lines = payload.split("\n")
    return ("".join(f"data: {line}\n" for line in lines) + "\n").encode()
