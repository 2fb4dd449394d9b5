"""Presidio as the simplest gateway: analyze and anonymize every message, then forward.

What a team builds when it puts Presidio in front of the OpenAI API by hand: for each chat
request, every message's text (a string `content`, or the `text` of content parts) goes
through `AnalyzerEngine.analyze` and `AnonymizerEngine.anonymize` with Presidio's defaults
(`bench/presidio_peer.py`: all recognizers, the replace operator, the same en_core_web_sm),
and the request is forwarded to the upstream. Nothing else is rewritten (tool definitions,
tool-call arguments and other keys go as they came), and the reply is relayed as it arrives,
unchanged: the default operator writes `<PERSON>`, which cannot be mapped back to a value.
Presidio runs one request at a time in a worker thread, so the event loop keeps relaying.

python -m bench.peers.presidio_proxy --port PORT --upstream http://127.0.0.1:UPSTREAM
"""

from __future__ import annotations

import argparse
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from functools import partial
from typing import Any

import httpx
import uvicorn
from anyio import CapacityLimiter, to_thread
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from bench.presidio_peer import PresidioPeer

_FORWARDED = ("authorization", "content-type", "accept")


def create_app(upstream: str) -> Starlette:
    peer = PresidioPeer()
    limiter = CapacityLimiter(1)
    client = httpx.AsyncClient(base_url=upstream, timeout=120)

    async def chat(request: Request) -> Response:
        document = json.loads(await request.body())
        await to_thread.run_sync(partial(_anonymize_messages, peer, document), limiter=limiter)
        headers = {name: request.headers[name] for name in _FORWARDED if name in request.headers}
        outgoing = client.build_request(
            "POST", "/v1/chat/completions", content=json.dumps(document).encode(), headers=headers
        )
        reply = await client.send(outgoing, stream=True)
        media_type = reply.headers.get("content-type", "application/json")
        if media_type.startswith("text/event-stream"):
            return StreamingResponse(
                reply.aiter_raw(),
                reply.status_code,
                media_type=media_type,
                background=BackgroundTask(reply.aclose),
            )
        body = await reply.aread()
        await reply.aclose()
        return Response(body, reply.status_code, media_type=media_type)

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with client:
            yield

    return Starlette(
        routes=[Route("/v1/chat/completions", chat, methods=["POST"]), Route("/healthz", health)],
        lifespan=lifespan,
    )


def _anonymize_messages(peer: PresidioPeer, document: dict[str, Any]) -> None:
    for holder, key in _message_texts(document):
        text = holder[key]
        holder[key] = peer.anonymize(text, peer.results(text))


def _message_texts(document: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str]]:
    """(object, key) for every message text: string contents and text content parts."""
    for message in document.get("messages") or []:
        if not isinstance(message, dict):
            continue
        content = message.get("content")
        if isinstance(content, str) and content:
            yield message, "content"
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and isinstance(part.get("text"), str) and part["text"]:
                    yield part, "text"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="the upstream's base URL, without /v1")
    args = parser.parse_args()
    uvicorn.run(
        create_app(args.upstream), host="127.0.0.1", port=args.port, log_level="warning", access_log=False
    )


if __name__ == "__main__":
    main()
