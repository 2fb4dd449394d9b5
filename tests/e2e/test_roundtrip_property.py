"""Property: random text with injected values round-trips exactly through the gateway,
whatever size the upstream's stream chunks are, one character included."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fake_upstream import FakeUpstream, Script, echo_last_user
from sdk import sdk_client
from veil.app import create_app
from veil.config import Settings

VALUES = [
    "ola.nordmann@example.no",
    "+49 30 901820",
    "5555 5555 5555 4444",
    "923-45-6789",
    "NL91ABNA0417164300",
    "192.0.2.7",
    "xoxb-2624918374-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q",
]
words = st.text(alphabet=st.sampled_from(list("abcde fgh,.:;!?\n\"'()")), max_size=10)
prompts = st.lists(st.tuples(words, st.sampled_from(VALUES)), min_size=1, max_size=3).map(
    lambda parts: "".join(f"{w} {v} " for w, v in parts).strip()
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prompt=prompts, chunk=st.integers(1, 7))
def test_gateway_roundtrip_at_any_chunk_size(tmp_path: Path, prompt: str, chunk: int) -> None:
    def reply(body: dict) -> Script:  # type: ignore[type-arg]
        script = echo_last_user(body)
        script.chunk = chunk
        return script

    upstream = FakeUpstream(reply)
    app = create_app(
        Settings(upstream_base_url="https://upstream.test/v1", data_dir=tmp_path / "data", vault="memory"),
        http_client=httpx.AsyncClient(transport=upstream.transport()),
    )

    async def run() -> tuple[str, str]:
        client = sdk_client(app)
        stream = await client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": prompt}], stream=True
        )
        streamed = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        whole = await client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": prompt}]
        )
        return streamed, whole.choices[0].message.content or ""

    streamed, whole = asyncio.run(run())
    assert streamed == whole == f"You said: {prompt}"
    seen = upstream.seen()
    for value in VALUES:
        if value in prompt:
            assert value.encode() not in seen
