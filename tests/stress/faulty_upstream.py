"""An upstream on a real loopback socket that misbehaves on cue: what `httpx.MockTransport`
cannot fake. It stalls, resets the connection (RST), closes it early (FIN), or answers
well, at any point of a reply; and `unaccepting_port` gives a port whose connections never
complete, for connect timeouts.

It runs its own event loop on a thread, so an in-process Veil and a `veil serve` child
can both use it. Each request is answered by `steps(body)`: bytes to send, `STALL` (wait
until the client gives up) or `RESET`; the connection is closed after the last step.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any

STALL = "stall"
RESET = "reset"
Step = bytes | str
Steps = Callable[[dict[str, Any]], list[Step]]


def head(status: int = 200, content_type: str = "application/json", length: int | None = None) -> bytes:
    """A response's head: with Content-Length, or chunked when `length` is None."""
    framing = f"content-length: {length}" if length is not None else "transfer-encoding: chunked"
    return (
        f"HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\n{framing}\r\nconnection: close\r\n\r\n"
    ).encode()


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


LAST_CHUNK = b"0\r\n\r\n"


def whole(document: Any, status: int = 200) -> list[Step]:
    body = json.dumps(document).encode()
    return [head(status, length=len(body)) + body]


def chat_events(*texts: str, done: bool = True) -> list[bytes]:
    """Chat completion chunks with these contents, as SSE frames (with `[DONE]`)."""
    frames = [
        b"data: "
        + json.dumps(
            {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": t}}]}
        ).encode()
        + b"\n\n"
        for t in texts
    ]
    return frames + ([b"data: [DONE]\n\n"] if done else [])


def responses_events(*texts: str) -> list[bytes]:
    """The start of a Responses API stream: created, then output text deltas."""
    where = {"item_id": "msg_1", "output_index": 0, "content_index": 0}
    events: list[dict[str, Any]] = [{"type": "response.created", "response": {"id": "resp_1", "output": []}}]
    events += [{"type": "response.output_text.delta", **where, "delta": t} for t in texts]
    return [
        f"event: {e['type']}\ndata: {json.dumps({**e, 'sequence_number': n})}\n\n".encode()
        for n, e in enumerate(events)
    ]


def streamed(frames: list[bytes], *then: Step) -> list[Step]:
    """An SSE reply: the head, each frame as a chunk, then `then` (by default its end)."""
    return [head(content_type="text/event-stream"), *map(chunk, frames), *(then or (LAST_CHUNK,))]


class FaultyUpstream:
    def __init__(self, steps: Steps) -> None:
        self.steps = steps
        self.bodies: list[dict[str, Any]] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._stop: asyncio.Event | None = None
        self._connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}
        self.url = ""

    def __enter__(self) -> FaultyUpstream:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(5)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/v1"
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    async def _start(self) -> asyncio.Server:
        self._stop = asyncio.Event()
        return await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def _close(self) -> None:
        assert self._server is not None and self._stop is not None
        self._stop.set()
        self._server.close()
        await self._server.wait_closed()
        for writer in self._connections.values():
            writer.transport.abort()
        await asyncio.gather(*self._connections, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections[task] = writer
        try:
            await self._answer(reader, writer)
        finally:
            writer.transport.abort()
            del self._connections[task]

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                (
                    int(line.split(b":", 1)[1])
                    for line in request_head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                0,
            )
            body = json.loads(await reader.readexactly(length)) if length else {}
            self.bodies.append(body)
            for step in self.steps(body):
                if step == STALL:
                    await self._stalled(reader)
                    break
                if step == RESET:
                    sock = writer.get_extra_info("socket")
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return  # closing now sends RST
                assert isinstance(step, bytes)
                writer.write(step)
                await writer.drain()
                await asyncio.sleep(0.01)  # one read per step on the other side
            if writer.can_write_eof():
                writer.write_eof()
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass

    async def _stalled(self, reader: asyncio.StreamReader) -> None:
        """Say nothing more until the client hangs up (or the server stops)."""
        assert self._stop is not None
        stop = asyncio.ensure_future(self._stop.wait())
        gone = asyncio.ensure_future(reader.read())
        await asyncio.wait([stop, gone], return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        gone.cancel()


@contextlib.contextmanager
def unaccepting_port() -> Iterator[int]:
    """A port that is listening but whose queue is full: a new connection never completes
    (Linux drops its SYN), as with a provider's overloaded or firewalled host."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = int(listener.getsockname()[1])
        fillers = []
        try:
            for _ in range(4):  # fill the accept queue: later connections then hang
                filler = socket.socket()
                filler.setblocking(False)
                with contextlib.suppress(BlockingIOError):
                    filler.connect(("127.0.0.1", port))
                fillers.append(filler)
            yield port
        finally:
            for filler in fillers:
                filler.close()
