"""One request's reply filter: the guard, then the restorer, for whole texts or channels."""

from __future__ import annotations

from collections import Counter

from veil.pseudonymize.guard import ResponseGuard, StreamGuard
from veil.pseudonymize.restore import Restorer, StreamRestorer


class ReplyFilter:
    def __init__(self, guard: ResponseGuard | None, restorer: Restorer, max_hold: int) -> None:
        self._guard = guard
        self._restorer = restorer
        self._max_hold = max_hold
        self._channels: list[ChannelFilter] = []
        self._whole: list[str] = []

    def __call__(self, text: str, *, json_string: bool) -> str:
        if self._guard is not None:
            text = self._guard.redact(text)
        restored = self._restorer.restore(text, json_string=json_string)
        self._whole.append(restored)
        return restored

    def channel(self, json_string: bool) -> ChannelFilter:
        guard = self._guard.stream(self._max_hold) if self._guard is not None else None
        channel = ChannelFilter(guard, StreamRestorer(self._restorer, json_string=json_string))
        self._channels.append(channel)
        return channel

    def texts(self) -> list[str]:
        """Every text the client was given, whole: what an app re-sends as history next turn."""
        return self._whole + ["".join(channel.sent) for channel in self._channels]

    @property
    def redacted(self) -> Counter[str]:
        return self._guard.redacted if self._guard is not None else Counter()

    @property
    def restored(self) -> int:
        return self._restorer.restored

    @property
    def unknown_tokens(self) -> int:
        return self._restorer.unknown


class ChannelFilter:
    """One streamed text channel: guard first, so tokens are restored only in vetted text."""

    def __init__(self, guard: StreamGuard | None, restorer: StreamRestorer) -> None:
        self._guard = guard
        self._restorer = restorer
        self.sent: list[str] = []

    def feed(self, delta: str) -> str:
        if self._guard is not None:
            delta = self._guard.feed(delta)
        out = self._restorer.feed(delta)
        self.sent.append(out)
        return out

    def finish(self) -> str:
        tail = self._guard.finish() if self._guard is not None else ""
        out = self._restorer.feed(tail) + self._restorer.finish()
        self.sent.append(out)
        return out
