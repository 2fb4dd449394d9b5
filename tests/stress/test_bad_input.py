"""Bad input: every malformed or mistyped body gets a 400 (413 when too large) in OpenAI's
error shape naming the parameter, nothing is forwarded, and the server stays up; extreme
but valid bodies (10,000 messages, a body just under the size limit) go through.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr
from starlette.testclient import TestClient
from steady_upstream import steady_upstream
from stress_profiles import Profile

from veil.app import create_app
from veil.config import Settings

ADMIN_KEY = "admin-key-for-bad-input-tests"
CHAT = "/v1/chat/completions"
VALID_CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture(scope="module")
def upstream_log() -> list[httpx.Request]:
    return []


@pytest.fixture
def forwarded(upstream_log: list[httpx.Request]) -> list[httpx.Request]:
    """What reached the upstream during this test."""
    upstream_log.clear()
    return upstream_log


def recording(log: list[httpx.Request]) -> httpx.AsyncClient:
    def record(request: httpx.Request) -> httpx.Response:
        log.append(request)
        return steady_upstream(request)

    return httpx.AsyncClient(transport=httpx.MockTransport(record))


def client_of(settings: Settings, log: list[httpx.Request]) -> TestClient:
    app = create_app(settings, http_client=recording(log))
    return TestClient(app, raise_server_exceptions=False, headers={"authorization": "Bearer sk-client"})


@pytest.fixture(scope="module")
def shared_veil(
    tmp_path_factory: pytest.TempPathFactory, upstream_log: list[httpx.Request]
) -> Iterator[TestClient]:
    """One Veil app for the tables (each case is one request): rule detectors, the
    default limits, the admin API on, in front of the steady upstream."""
    settings = Settings(
        upstream_base_url="https://upstream.test/v1",
        upstream_api_key="sk-upstream-test-key",
        data_dir=tmp_path_factory.mktemp("bad-input"),
        master_key=None,
        ner_model="",
        admin_key=SecretStr(ADMIN_KEY),
    )
    with client_of(settings, upstream_log) as client:
        yield client


@pytest.fixture
def veil(shared_veil: TestClient, forwarded: list[httpx.Request]) -> TestClient:
    return shared_veil


@pytest.fixture
def open_veil(
    rules_settings: Settings, forwarded: list[httpx.Request]
) -> Iterator[Callable[..., TestClient]]:
    """A Veil app of its own, with `overrides` to the settings."""
    clients: list[TestClient] = []

    def open_(**overrides: Any) -> TestClient:
        settings = rules_settings.model_copy(update={"admin_key": SecretStr(ADMIN_KEY), **overrides})
        clients.append(client_of(settings, forwarded).__enter__())
        return clients[-1]

    yield open_
    for client in clients:
        client.__exit__(None, None, None)


def assert_openai_error(response: httpx.Response, status: int, param: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["error"]
    error = body["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str) and error["message"]
    assert error["param"] == param
    if status < 500:
        assert error["type"] in ("invalid_request_error", "authentication_error")


def nested(levels: int) -> bytes:
    return b'{"model": "m", "messages": [{"role": "user", "content": "x"}], "x": ' + (
        b"[" * levels + b"]" * levels + b"}"
    )


def with_raw(fragment: str) -> bytes:
    """The valid chat body with `fragment` as the raw JSON of an extra field."""
    return (
        b'{"model": "m", "messages": [{"role": "user", "content": "hi"}], "extra": '
        + fragment.encode()
        + b"}"
    )


MALFORMED = {
    "invalid UTF-8": b'{"model": "m", "messages": [{"role": "user", "content": "caf\xe9 \xff"}]}',
    "a byte order mark": b"\xef\xbb\xbf" + json.dumps(VALID_CHAT).encode(),
    "UTF-16": json.dumps(VALID_CHAT).encode("utf-16"),
    "an unpaired high surrogate": with_raw('"a \\ud800 b"'),
    "an unpaired low surrogate": with_raw('"\\udc00"'),
    "a reversed pair": with_raw('"\\ude00\\ud83d"'),
    "an unpaired surrogate in a key": with_raw('{"\\ud83d": 1}'),
    "an unpaired surrogate in a message": b'{"model": "m", "messages": [{"role": "user", "content": '
    b'"\\uDBFF"}]}',
    "NaN": with_raw("NaN"),
    "Infinity": with_raw("Infinity"),
    "-Infinity": with_raw("[-Infinity]"),
    "a float that overflows": with_raw("1e400"),
    "an integer beyond 64 bits": with_raw("18446744073709551616"),
    "a negative integer beyond 64 bits": with_raw("-9223372036854775809"),
    "an integer of 5,000 digits": with_raw("9" * 5000),
    "truncated": b'{"model": "m", "messages": [{"role": "us',
    "trailing garbage": json.dumps(VALID_CHAT).encode() + b"}",
    "two documents": json.dumps(VALID_CHAT).encode() * 2,
    "empty": b"",
    "whitespace": b" \n\t",
    "an array": b"[]",
    "a string": b'"hello"',
    "null": b"null",
    "a number": b"42",
    "single quotes": b"{'model': 'm'}",
    "a comment": b'{"model": "m" /* c */, "messages": []}',
    "65 levels": nested(64),
    "100,000 levels": nested(100_000),
}


@pytest.mark.parametrize("raw", list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_bodies(veil: TestClient, forwarded: list[httpx.Request], raw: bytes) -> None:
    response = veil.post(CHAT, content=raw, headers={"content-type": "application/json"})
    assert_openai_error(response, 400)
    assert forwarded == []


WELL_FORMED = {
    "a surrogate pair": '"\\ud83d\\ude00"',
    "the largest unsigned 64-bit integer": "18446744073709551615",
    "the smallest signed 64-bit integer": "-9223372036854775808",
    "an escaped backslash before u": '"\\\\ud800"',
    "a large finite float": "1.5e308",
    "64 levels": "[" * 63 + "]" * 63,
}


@pytest.mark.parametrize("fragment", list(WELL_FORMED.values()), ids=list(WELL_FORMED))
def test_edges_of_json_that_pass(veil: TestClient, forwarded: list[httpx.Request], fragment: str) -> None:
    response = veil.post(CHAT, content=with_raw(fragment), headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    assert json.loads(forwarded[-1].content)["extra"] == json.loads(fragment)


def test_lone_surrogates_are_refused_in_every_storage_mode(
    open_veil: Callable[..., TestClient], forwarded: list[httpx.Request]
) -> None:
    for mode in ("none", "metadata", "pseudonymized", "full"):
        veil = open_veil(storage_mode=mode)
        for raw in (MALFORMED["an unpaired high surrogate"], MALFORMED["an integer beyond 64 bits"]):
            assert_openai_error(veil.post(CHAT, content=raw), 400)
        assert veil.post(CHAT, content=with_raw(WELL_FORMED["a surrogate pair"])).status_code == 200
    assert len(forwarded) == 4


# (path, body, the parameter the 400 names)
WRONG_TYPES: list[tuple[str, Any, str]] = [
    (CHAT, {"messages": [{"role": "user", "content": "x"}]}, "model"),
    (CHAT, {"model": 5, "messages": [{"role": "user", "content": "x"}]}, "model"),
    (CHAT, {"model": None, "messages": [{"role": "user", "content": "x"}]}, "model"),
    (CHAT, {"model": ["m"], "messages": [{"role": "user", "content": "x"}]}, "model"),
    (CHAT, {"model": "m"}, "messages"),
    (CHAT, {"model": "m", "messages": []}, "messages"),
    (CHAT, {"model": "m", "messages": "hi"}, "messages"),
    (CHAT, {"model": "m", "messages": {"role": "user"}}, "messages"),
    (CHAT, {"model": "m", "messages": [1]}, "messages[0]"),
    (CHAT, {"model": "m", "messages": [None]}, "messages[0]"),
    (CHAT, {"model": "m", "messages": [{"content": "x"}]}, "messages[0]"),
    (CHAT, {"model": "m", "messages": [{"role": 1, "content": "x"}]}, "messages[0]"),
    (CHAT, {"model": "m", "messages": [{"role": "user", "content": "x"}, "y"]}, "messages[1]"),
    (CHAT, {**VALID_CHAT, "stream": "yes"}, "stream"),
    (CHAT, {**VALID_CHAT, "stream": 1}, "stream"),
    (CHAT, {**VALID_CHAT, "n": 0}, "n"),
    (CHAT, {**VALID_CHAT, "n": -1}, "n"),
    (CHAT, {**VALID_CHAT, "n": "2"}, "n"),
    (CHAT, {**VALID_CHAT, "n": True}, "n"),
    (CHAT, {**VALID_CHAT, "n": 1.5}, "n"),
    (CHAT, {**VALID_CHAT, "response_format": "json"}, "response_format"),
    (CHAT, {**VALID_CHAT, "response_format": []}, "response_format"),
    ("/v1/responses", {"model": 5, "input": "x"}, "model"),
    ("/v1/responses", {"model": "m", "input": 5}, "input"),
    ("/v1/responses", {"model": "m", "input": {"role": "user"}}, "input"),
    ("/v1/responses", {"model": "m", "input": [1]}, "input[0]"),
    ("/v1/responses", {"model": "m", "input": ["x"]}, "input[0]"),
    ("/v1/responses", {"model": "m", "input": "x", "instructions": 5}, "instructions"),
    ("/v1/responses", {"model": "m", "input": "x", "instructions": ["a"]}, "instructions"),
    ("/v1/responses", {"model": "m", "input": "x", "tools": "search"}, "tools"),
    ("/v1/responses", {"model": "m", "input": "x", "tools": [1]}, "tools[0]"),
    ("/v1/responses", {"model": "m", "input": "x", "text": "x"}, "text"),
    ("/v1/responses", {"model": "m", "input": "x", "text": {"format": "json"}}, "text"),
    ("/v1/responses", {"model": "m", "input": "x", "text": {"format": False}}, "text"),
    ("/v1/responses", {"model": "m", "input": "x", "text": {"format": 0}}, "text"),
    ("/v1/responses", {"model": "m", "input": "x", "text": {"format": []}}, "text"),
    ("/v1/responses", {"model": "m", "input": "x", "stream": "true"}, "stream"),
    ("/v1/embeddings", {"input": "x"}, "model"),
    ("/v1/embeddings", {"model": "m"}, "input"),
    ("/v1/embeddings", {"model": "m", "input": 5}, "input"),
    ("/v1/embeddings", {"model": "m", "input": {"text": "x"}}, "input"),
    ("/v1/embeddings", {"model": "m", "input": []}, "input"),
    ("/v1/embeddings", {"model": "m", "input": [1.5]}, "input"),
    ("/v1/embeddings", {"model": "m", "input": ["a", 1]}, "input"),
    ("/v1/embeddings", {"model": "m", "input": [[]]}, "input"),
    ("/v1/embeddings", {"model": "m", "input": [[1, "a"]]}, "input"),
    ("/v1/embeddings", {"model": "m", "input": [True]}, "input"),
    ("/v1/completions", {"prompt": "x"}, "model"),
    ("/v1/completions", {"model": "m", "prompt": 5}, "prompt"),
    ("/v1/completions", {"model": "m", "prompt": {"text": "x"}}, "prompt"),
    ("/v1/completions", {"model": "m", "prompt": [[]]}, "prompt"),
    ("/v1/completions", {"model": "m", "prompt": "x", "suffix": 5}, "suffix"),
    ("/v1/completions", {"model": "m", "prompt": "x", "stream": "no"}, "stream"),
]


@pytest.mark.parametrize(
    ("path", "body", "param"),
    WRONG_TYPES,
    ids=[f"{path}:{param}:{i}" for i, (path, _, param) in enumerate(WRONG_TYPES)],
)
def test_wrong_types_name_their_parameter(
    veil: TestClient, forwarded: list[httpx.Request], path: str, body: Any, param: str
) -> None:
    assert_openai_error(veil.post(path, json=body), 400, param)
    assert forwarded == []


ADMIN_WRONG: list[tuple[str, str, Any, str | None]] = [
    ("PUT", "/admin/subjects/u1/consent", {}, "purpose"),
    ("PUT", "/admin/subjects/u1/consent", {"purpose": "marketing", "granted": True}, "purpose"),
    ("PUT", "/admin/subjects/u1/consent", {"purpose": "send_to_provider", "granted": "yes"}, "granted"),
    ("PUT", "/admin/subjects/u1/consent", {"purpose": "send_to_provider", "granted": 1}, "granted"),
    ("PUT", "/admin/subjects/u1/consent", b"\xff{", None),
    ("PUT", "/admin/subjects/u1/consent", b"[]", None),
    ("PUT", "/admin/subjects/u1/consent", with_raw('"\\ud800"'), None),
    ("POST", "/admin/portal-tokens", {"user": 5}, "user"),
    ("POST", "/admin/portal-tokens", {"user": ""}, "user"),
    ("POST", "/admin/portal-tokens", {"user": "u", "ttl_seconds": "60"}, "ttl_seconds"),
    ("POST", "/admin/portal-tokens", {"user": "u", "ttl_seconds": True}, "ttl_seconds"),
    ("POST", "/admin/portal-tokens", {"user": "u", "ttl_seconds": -5}, "ttl_seconds"),
]


@pytest.mark.parametrize(("method", "path", "body", "param"), ADMIN_WRONG)
def test_admin_api_bad_input(veil: TestClient, method: str, path: str, body: Any, param: str | None) -> None:
    headers = {"authorization": f"Bearer {ADMIN_KEY}"}
    if isinstance(body, bytes):
        response = veil.request(method, path, content=body, headers=headers)
    else:
        response = veil.request(method, path, json=body, headers=headers)
    assert_openai_error(response, 400, param)


def test_ten_thousand_messages(
    profile: Profile, open_veil: Callable[..., TestClient], forwarded: list[httpx.Request]
) -> None:
    """Short: rule detectors and a few distinct values. Full: the NER model too, and a
    distinct address in every message (10,000 tokens minted in one request)."""
    veil = open_veil(ner_model=profile.pick("", "en_core_web_sm"))
    values = 10_000 if profile.full else 7
    messages = [
        {
            "role": "user" if i % 2 == 0 else "assistant",
            "content": f"note {i}: write to p{i % values}@example.com",
        }
        for i in range(10_000)
    ]
    response = veil.post(CHAT, json={"model": "m", "messages": messages})
    assert response.status_code == 200, response.text
    sent = json.loads(forwarded[-1].content)["messages"]
    assert len(sent) == 10_000
    assert not any("@example.com" in message["content"] for message in sent)
    assert sent[-1]["content"] == f"note 9999: write to <EMAIL_ADDRESS_{9999 % values + 1}>"
    assert veil.get("/healthz").status_code == 200


def test_bodies_at_and_over_the_size_limit(
    profile: Profile, open_veil: Callable[..., TestClient], forwarded: list[httpx.Request]
) -> None:
    limit = profile.pick(256 * 1024, 10 * 1024 * 1024)  # the full profile: the default limit
    veil = open_veil(max_body_bytes=limit)
    sentence = "lorem ipsum dolor sit amet, write to ana@example.com or call 415-555-0134 today. "

    def body_of(size: int) -> bytes:
        skeleton = json.dumps({"model": "m", "messages": [{"role": "user", "content": ""}]}).encode()
        text = (sentence * (size // len(sentence) + 1))[: size - len(skeleton)]
        raw = json.dumps({"model": "m", "messages": [{"role": "user", "content": text}]}).encode()
        assert len(raw) == size
        return raw

    at_limit = veil.post(CHAT, content=body_of(limit))
    assert at_limit.status_code == 200, at_limit.text
    assert "ana@example.com" not in forwarded[-1].content.decode()
    over = body_of(limit + 1)
    assert_openai_error(veil.post(CHAT, content=over), 413)
    # No Content-Length (chunked): counted as it arrives, refused once past the limit.
    assert_openai_error(veil.post(CHAT, content=iter([over[: limit // 2], over[limit // 2 :]])), 413)
    assert_openai_error(veil.post(CHAT, content=iter([over] * 20)), 413)
    # A Content-Length that claims more than the limit is refused before the body is read.
    assert_openai_error(veil.post(CHAT, content=b"{}", headers={"content-length": str(limit * 100)}), 413)
    assert len(forwarded) == 1
    assert veil.post(CHAT, json=VALID_CHAT).status_code == 200


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=6,
)
VALID_BODIES: dict[str, dict[str, Any]] = {
    CHAT: {
        "model": "m",
        "user": "fuzz",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "I am ana@example.com"}]},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a": "b"}'}}
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "ok"},
        ],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "s", "schema": {"type": "object"}},
        },
        "stream_options": {"include_usage": True},
        "temperature": 0.5,
    },
    "/v1/responses": {
        "model": "m",
        "instructions": "Be brief.",
        "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "I am ana@example.com"}]},
            {"type": "function_call", "call_id": "c1", "name": "f", "arguments": '{"a": "b"}'},
            {"type": "function_call_output", "call_id": "c1", "output": "ok"},
        ],
        "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}}],
        "text": {"format": {"type": "text"}},
        "metadata": {"k": "v"},
    },
    "/v1/embeddings": {"model": "m", "input": ["ana@example.com", "hello"], "encoding_format": "float"},
    "/v1/completions": {"model": "m", "prompt": ["I am ana@example.com"], "suffix": "end", "max_tokens": 5},
}


def paths_of(node: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [at]
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths_of(value, (*at, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += paths_of(value, (*at, index))
    return found


def mutated(body: dict[str, Any], path: tuple[Any, ...], value: Any, delete: bool) -> Any:
    copy = json.loads(json.dumps(body))
    if not path:
        return value
    parent = copy
    for step in path[:-1]:
        parent = parent[step]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return copy


@pytest.mark.parametrize("path", list(VALID_BODIES))
def test_wrong_types_anywhere(profile: Profile, veil: TestClient, path: str) -> None:
    """Any value replaced by any JSON value (or removed), streamed or not: never a 5xx;
    a 4xx is OpenAI-shaped; a stream is well-formed to its end."""
    body = VALID_BODIES[path]

    @profile.hypothesis(100, 2000)
    @given(
        where=st.sampled_from(paths_of(body)),
        value=json_values,
        delete=st.booleans(),
        stream=st.sampled_from([None, True, False]),
    )
    def check(where: tuple[Any, ...], value: Any, delete: bool, stream: bool | None) -> None:
        document = mutated(body, where, value, delete and bool(where))
        if stream is not None and isinstance(document, dict):
            document["stream"] = stream
        response = veil.post(path, json=document)
        assert response.status_code < 500, response.text
        if response.status_code >= 400:
            assert_openai_error(response, response.status_code, response.json()["error"]["param"])
        elif response.headers["content-type"].startswith("text/event-stream"):
            events = [line[6:] for line in response.text.split("\n") if line.startswith("data: ")]
            assert events and all(event == "[DONE]" or json.loads(event) for event in events)
            assert "error" not in response.text

    check()
    assert veil.get("/healthz").json() == {"status": "ok"}


@pytest.mark.parametrize("stream", [False, True])
def test_a_format_type_that_is_no_string_is_not_a_500(
    veil: TestClient, forwarded: list[httpx.Request], stream: bool
) -> None:
    """Veil asks whether the reply is a JSON document (`response_format.type`,
    `text.format.type`); a list or an object there is the provider's to refuse."""
    for kind in ([], {}, ["json_schema"]):
        chat = {**VALID_CHAT, "stream": stream, "response_format": {"type": kind}}
        assert veil.post(CHAT, json=chat).status_code == 200
        responses = {"model": "m", "input": "x", "stream": stream, "text": {"format": {"type": kind}}}
        assert veil.post("/v1/responses", json=responses).status_code == 200
    assert len(forwarded) == 6
