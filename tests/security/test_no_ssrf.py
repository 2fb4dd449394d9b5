"""No client can choose where Veil sends its requests, or what path it asks there.

A real `veil serve` sits in front of a watched upstream (in a process of its own, base path
`/watched/v1`), and beside them on loopback runs an "internal service" that nothing should
ever reach. Clients try the usual ways of steering a proxy: Host and forwarding headers,
absolute-URI request lines, URL-ish fields in the body, model names that are URLs or climb
with `../`, encoded dot segments and query characters in the models path, and an upstream
redirect. Every request goes out as raw bytes, so nothing is normalised on the way in.

Afterwards the internal service has seen nothing, and the upstream only requests under its
base path, each to one of Veil's endpoints, with its own Host and the configured key.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from stress.upstream_process import UpstreamProcess
from veil_process import VeilProcess, running

UPSTREAM_KEY = "sk-upstream-ssrf-T3x"
BASE = "/watched/v1"
# What the upstream may be asked: Veil's endpoints, and a model id that is plain segments.
ALLOWED = re.compile(
    rf"POST {BASE}/(chat/completions|responses|embeddings|completions)"
    rf"|GET {BASE}/models(/(?!\.\.?(/|$))[A-Za-z0-9._~:@%+-]+)*"
)


@dataclass
class Setup:
    veil: VeilProcess
    upstream: UpstreamProcess
    internal: UpstreamProcess

    @property
    def internal_address(self) -> str:
        return self.internal.url.removeprefix("http://").split("/", 1)[0]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    workdir = tmp_path_factory.mktemp("ssrf")
    with UpstreamProcess(base="/internal") as internal, UpstreamProcess(base=BASE) as upstream:
        env = {
            "VEIL_UPSTREAM_BASE_URL": upstream.url,
            "VEIL_UPSTREAM_API_KEY": UPSTREAM_KEY,
        }
        veil = VeilProcess(workdir, env)
        with running(veil):
            yield Setup(veil, upstream, internal)


def send(port: int, request_line: str, headers: dict[str, str], body: bytes = b"") -> int:
    """One request as raw bytes on a fresh connection; returns the status code."""
    head = [request_line, *(f"{name}: {value}" for name, value in headers.items())]
    head += [f"content-length: {len(body)}", "connection: close"]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return int(answer.split(b" ", 2)[1])


def chat(model: str = "m", **fields: Any) -> bytes:
    messages = [{"role": "user", "content": "write to ana@example.com"}]
    return json.dumps({"model": model, "messages": messages, **fields}).encode()


def steering_headers(elsewhere: str) -> list[dict[str, str]]:
    return [
        {"host": elsewhere},
        {"host": "127.0.0.1", "x-forwarded-host": elsewhere},
        {"host": "127.0.0.1", "x-forwarded-for": "127.0.0.1", "x-real-ip": "127.0.0.1"},
        {"host": "127.0.0.1", "x-forwarded-proto": "http", "x-forwarded-port": elsewhere.split(":")[1]},
        {"host": "127.0.0.1", "forwarded": f'host="{elsewhere}";proto=http;for=127.0.0.1'},
        {"host": "127.0.0.1", "x-original-url": "/internal/x", "x-rewrite-url": "/internal/x"},
        {"host": "127.0.0.1", "x-forwarded-prefix": "/internal", "x-base-url": f"http://{elsewhere}"},
        {"host": "127.0.0.1", "openai-base-url": f"http://{elsewhere}/internal", "x-upstream": elsewhere},
    ]


def test_no_client_steers_veil_to_another_host_or_path(setup: Setup) -> None:
    port, elsewhere = setup.veil.port, setup.internal_address
    internal_url = f"http://{elsewhere}/internal"
    auth = {"authorization": "Bearer sk-client-key", "content-type": "application/json"}

    for headers in steering_headers(elsewhere):
        assert send(port, "POST /v1/chat/completions HTTP/1.1", {**headers, **auth}, chat()) == 200
        assert send(port, "GET /v1/models HTTP/1.1", {**headers, **auth}) == 200

    # Absolute-URI request lines: the path is Veil's, the host is not taken from them.
    for line in (
        f"POST http://{elsewhere}/v1/chat/completions HTTP/1.1",
        f"POST http://{elsewhere}/internal/chat/completions HTTP/1.1",
        f"GET {internal_url}/models HTTP/1.1",
    ):
        send(port, line, {"host": "127.0.0.1", **auth}, chat() if line.startswith("POST") else b"")

    # Fields that name a URL, and models that are URLs or paths.
    url_fields = {
        name: internal_url for name in ("base_url", "api_base", "url", "endpoint", "baseURL", "host")
    }
    assert send(port, "POST /v1/chat/completions HTTP/1.1", auth, chat(**url_fields)) == 200
    for model in (
        internal_url,
        f"//{elsewhere}/internal",
        f"@{elsewhere}",
        "../../internal",
        "..%2F..%2Finternal",
        f"redirect-to:{internal_url}/chat/completions",
    ):
        send(port, "POST /v1/chat/completions HTTP/1.1", auth, chat(model, stream=True))
        send(port, "POST /v1/chat/completions HTTP/1.1", auth, chat(model))
        body = json.dumps({"model": model, "input": "hi"}).encode()
        send(port, "POST /v1/responses HTTP/1.1", auth, body)
        send(port, "POST /v1/embeddings HTTP/1.1", auth, body)

    # The models path: dot segments (plain and encoded), query and fragment characters, hosts.
    for target in (
        "/v1/models/../../internal",
        "/v1/models/..%2F..%2Finternal",
        "/v1/models/%2e%2e/%2e%2e/internal",
        "/v1/models/%2E%2E%2F%2E%2E%2Finternal",
        "/v1/models/a/../../../internal",
        "/v1/models/./../models",
        "/v1/models/x%3Fafter=1",
        "/v1/models/x%23fragment",
        f"/v1/models/%2F%2F{elsewhere}%2Finternal",
        f"/v1/models/http:%2F%2F{elsewhere}%2Finternal",
        f"/v1/models/@{elsewhere}",
        "/v1/models/",
        "/v1/../internal",
        "/v1/chat/completions/../../internal",
    ):
        send(port, f"GET {target} HTTP/1.1", {"host": "127.0.0.1", **auth})

    assert setup.internal.stats()["requests"] == 0
    seen = setup.upstream.stats()
    upstream_address = setup.upstream.url.removeprefix("http://").split("/", 1)[0]
    assert seen["requests"] > 40
    assert seen["outside_base"] == {}
    assert [path for path in seen["paths"] if not ALLOWED.fullmatch(path)] == []
    assert set(seen["hosts"]) == {upstream_address}
    assert set(seen["keys"]) == {f"Bearer {UPSTREAM_KEY}"}


def test_a_model_id_with_slashes_still_reaches_its_path(setup: Setup) -> None:
    """Providers that speak OpenAI's API name models `org/model`: they still work."""
    auth = {"host": "127.0.0.1", "authorization": "Bearer sk-client-key"}
    before = setup.upstream.stats()["paths"]

    assert send(setup.veil.port, "GET /v1/models/meta-llama/Llama-3.1-8B HTTP/1.1", auth) == 200
    assert send(setup.veil.port, "GET /v1/models/ft:gpt-4o-mini:acme::x1 HTTP/1.1", auth) == 200
    assert send(setup.veil.port, "GET /v1/models/..%2Ffiles HTTP/1.1", auth) == 400

    after = setup.upstream.stats()["paths"]
    new = {path for path in after if after[path] != before.get(path)}
    assert new == {f"GET {BASE}/models/meta-llama/Llama-3.1-8B", f"GET {BASE}/models/ft:gpt-4o-mini:acme::x1"}
