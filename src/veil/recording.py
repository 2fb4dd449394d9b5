"""Each request's record, committed before its reply is released.

The audit entry and the record (metadata, and a sealed transcript when the storage mode
and consent allow) are written in one transaction. If that cannot be done the reply is
withheld: a client that saw its reply complete can count on its record. A request that
failed is recorded off the response's path, on a best-effort basis.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import anyio
import orjson

from veil.errors import StorageUnavailable
from veil.metrics import Metrics
from veil.store.records import Exchange, RecordStore, StorageMode

log = logging.getLogger("veil.recording")


class Recorder:
    def __init__(self, records: RecordStore, metrics: Metrics) -> None:
        self._records = records
        self._metrics = metrics
        self._saving: set[asyncio.Task[None]] = set()

    def stored_mode(self, exchange: Exchange) -> StorageMode:
        return self._records.stored_mode(exchange)

    async def commit(self, exchange: Exchange) -> None:
        """Commit the request's audit entry and record; fail closed if they cannot be."""
        try:
            await anyio.to_thread.run_sync(self._records.save, exchange)
        except Exception as exc:
            self._metrics.storage_errors.inc()
            log.error("request %s: record not stored: %s", exchange.request_id, type(exc).__name__)
            raise StorageUnavailable(
                "Veil could not record this request, as its audit and storage policy require;"
                " the reply was withheld."
            ) from None

    def commit_later(self, exchange: Exchange) -> None:
        """Best effort, off the response's path: the record of a request that failed."""
        task = asyncio.get_running_loop().create_task(self._commit_quietly(exchange))
        self._saving.add(task)
        task.add_done_callback(self._saving.discard)

    async def _commit_quietly(self, exchange: Exchange) -> None:
        with contextlib.suppress(StorageUnavailable):
            await self.commit(exchange)


def take_usage(exchange: Exchange, document: Any) -> None:
    """The token counts of a reply (or of a Responses API event's `response`), if it has them."""
    if not isinstance(document, dict):
        return
    usage = document.get("usage")
    if not isinstance(usage, dict) and isinstance(document.get("response"), dict):
        usage = document["response"].get("usage")
    if not isinstance(usage, dict):
        return
    prompt = usage.get("prompt_tokens", usage.get("input_tokens"))
    completion = usage.get("completion_tokens", usage.get("output_tokens"))
    if isinstance(prompt, int):
        exchange.prompt_tokens = prompt
    if isinstance(completion, int):
        exchange.completion_tokens = completion


def take_stream_usage(exchange: Exchange, payload: str) -> None:
    # Only the last chunk (chat: stream_options.include_usage) or the terminal event
    # (responses) carries usage; a cheap test first.
    if '"usage"' in payload and '"usage":null' not in payload.replace(" ", ""):
        with contextlib.suppress(orjson.JSONDecodeError):
            take_usage(exchange, orjson.loads(payload))
