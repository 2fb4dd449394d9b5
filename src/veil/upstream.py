"""The provider: one pooled httpx client, and the one place its errors are translated."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import httpx

from veil.errors import UpstreamTimeout, UpstreamUnavailable
from veil.metrics import Metrics

# Client headers worth passing on; everything else (cookies, Veil's own) stays here.
_FORWARDED_HEADERS = ("openai-organization", "openai-project", "openai-beta", "accept-language")


class Upstream:
    """Sends requests to the provider; a failure to reach it, or to read its answer, is
    counted in `veil_upstream_errors` by kind (a stream's failures later on, by the relay)."""

    def __init__(
        self, client: httpx.AsyncClient, base_url: str, api_key: str | None, metrics: Metrics | None = None
    ) -> None:
        self._client = client
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._metrics = metrics

    def headers(self, client_headers: Mapping[str, str], api_key: str | None = None) -> dict[str, str]:
        """The headers to send: `api_key` (a tenant's), else the configured key, else the
        client's own authorization."""
        headers = {name: client_headers[name] for name in _FORWARDED_HEADERS if name in client_headers}
        key = api_key or self._api_key
        if key:
            headers["authorization"] = f"Bearer {key}"
        elif "authorization" in client_headers:
            headers["authorization"] = client_headers["authorization"]
        return headers

    def request(
        self, method: str, path: str, headers: Mapping[str, str], content: bytes | None = None
    ) -> httpx.Request:
        if content is not None:
            headers = {**headers, "content-type": "application/json"}
        return self._client.build_request(method, self._base_url + path, headers=headers, content=content)

    async def send(self, request: httpx.Request, *, stream: bool = False) -> httpx.Response:
        try:
            with map_upstream_errors():
                return await self._client.send(request, stream=stream)
        except (UpstreamTimeout, UpstreamUnavailable) as error:
            self._count(error.code)
            raise

    async def read(self, response: httpx.Response) -> None:
        """Read the rest of a streamed response's body, then close it."""
        try:
            with map_upstream_errors():
                await response.aread()
        except (UpstreamTimeout, UpstreamUnavailable) as error:
            self._count(error.code)
            raise
        finally:
            await response.aclose()

    def _count(self, kind: str) -> None:
        if self._metrics is not None:
            self._metrics.upstream_errors.labels(kind).inc()

    async def aclose(self) -> None:
        await self._client.aclose()


@contextmanager
def map_upstream_errors() -> Iterator[None]:
    try:
        yield
    except httpx.TimeoutException as exc:
        raise UpstreamTimeout("The upstream API did not answer in time.") from exc
    except httpx.HTTPError as exc:
        raise UpstreamUnavailable("The upstream API could not be reached.") from exc
