"""Schemathesis against Veil's own OpenAPI description (`GET /openapi.json`), in-process,
in front of an upstream that answers anything: bodies valid by the description and bodies
that break it (wrong types, missing fields, out-of-range values), for every operation.

Schemathesis's checks hold: never a 5xx, every status and content type is one the
description names, every body matches its schema (errors in OpenAI's shape), bodies that
break the description are refused with a 4xx, the admin key is enforced. One check is left
out: that every body valid by the description is accepted. Fields Veil does not check are
passed on as they are, and JSON Schema cannot say what Veil still refuses in them (an
integer beyond 64 bits, nesting past 64 levels), which schemathesis does generate.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from pydantic import SecretStr
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from steady_upstream import steady_upstream
from stress_profiles import Profile

from veil.app import create_app
from veil.config import Settings
from veil.openai_api.endpoints import default_endpoints
from veil.openapi import openapi_document

ADMIN_KEY = "admin-key-for-schemathesis"
DOCUMENT = openapi_document(default_endpoints())
# (path, method, generation mode): bodies and parameters that break the description too,
# where the description says more of them than "a string".
CASES = [
    (path, method, mode)
    for path, methods in DOCUMENT["paths"].items()
    for method, operation in methods.items()
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode == GenerationMode.POSITIVE
    or operation.get("requestBody")
    or any(set(parameter["schema"]) - {"type"} for parameter in operation.get("parameters", ()))
]


def test_the_description_is_served_and_lists_every_route(rules_settings: Settings) -> None:
    from starlette.testclient import TestClient

    with TestClient(create_app(rules_settings)) as client:
        served = client.get("/openapi.json")
    assert served.status_code == 200
    document = served.json()
    assert document["openapi"].startswith("3.0")
    assert {f"/v1{e.path}" for e in default_endpoints()} <= set(document["paths"])
    assert {"/healthz", "/privacy/notice", "/admin/audit/verify", "/v1/models"} <= set(document["paths"])


@pytest.mark.parametrize(
    ("path", "method", "mode"), CASES, ids=[f"{m.upper()} {p} {mode.value}" for p, m, mode in CASES]
)
def test_veil_keeps_to_its_description(
    profile: Profile, rules_settings: Settings, path: str, method: str, mode: GenerationMode
) -> None:
    app = create_app(
        rules_settings.model_copy(update={"admin_key": SecretStr(ADMIN_KEY)}),
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(steady_upstream)),
    )
    config = SchemathesisConfig.from_dict({"auth": {"openapi": {"adminKey": {"bearer": ADMIN_KEY}}}})
    operation = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)[path][method]

    # Negative path parameters are drawn by filtering: fine here.
    @settings(profile.hypothesis(10, 300), suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case: Any) -> None:
        case.call_and_validate(excluded_checks=[schemathesis.checks.positive_data_acceptance])

    check()
