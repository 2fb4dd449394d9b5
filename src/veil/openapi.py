"""Veil's own OpenAPI description, served at `GET /openapi.json`.

Small and true: the `/v1` endpoints of the registry (`openai_api.endpoints`) with the parts
of each request Veil itself checks (the provider checks the rest, so other fields are
allowed and passed on), the models pass-through, `/healthz`, the privacy notice, and the
admin API behind its bearer key. Every error Veil answers has OpenAI's shape; an error of
the provider is passed through with its own status (`default`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from veil import __version__
from veil.openai_api.endpoints import Endpoint
from veil.store.consent import PURPOSES
from veil.web.security_headers import secured

Schema = dict[str, Any]

_OBJECT: Schema = {"type": "object"}
_STRING: Schema = {"type": "string"}
_STREAM: Schema = {"type": "boolean", "nullable": True}
_TOKEN_IDS: Schema = {"type": "array", "minItems": 1, "items": {"type": "integer"}}
# A string, an array of strings, an array of token ids, or an array of token-id arrays.
_TEXT_OR_TOKENS: Schema = {
    "oneOf": [
        _STRING,
        {"type": "array", "minItems": 1, "items": _STRING},
        _TOKEN_IDS,
        {"type": "array", "minItems": 1, "items": _TOKEN_IDS},
    ]
}

# What Veil checks of each endpoint's request (see each `check_*_request`).
_REQUESTS: dict[str, Schema] = {
    "chat_completions": {
        "type": "object",
        "required": ["model", "messages"],
        "properties": {
            "model": _STRING,
            "messages": {
                "type": "array",
                "minItems": 1,
                "items": {"type": "object", "required": ["role"], "properties": {"role": _STRING}},
            },
            "stream": _STREAM,
            "n": {"type": "integer", "minimum": 1, "nullable": True},
            "response_format": {"type": "object", "nullable": True},
        },
    },
    "responses": {
        "type": "object",
        "properties": {
            "model": {"type": "string", "nullable": True},
            "input": {
                "nullable": True,
                "oneOf": [_STRING, {"type": "array", "items": _OBJECT}],
            },
            "instructions": {"type": "string", "nullable": True},
            "tools": {"type": "array", "items": _OBJECT, "nullable": True},
            "text": {
                "type": "object",
                "nullable": True,
                "properties": {"format": {"type": "object", "nullable": True}},
            },
            "stream": _STREAM,
        },
    },
    "embeddings": {
        "type": "object",
        "required": ["model", "input"],
        "properties": {"model": _STRING, "input": _TEXT_OR_TOKENS},
    },
    "completions": {
        "type": "object",
        "required": ["model"],
        "properties": {
            "model": _STRING,
            "prompt": {**_TEXT_OR_TOKENS, "nullable": True},
            "suffix": {"type": "string", "nullable": True},
            "stream": _STREAM,
        },
    },
}

_ERROR: Schema = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "type", "param", "code"],
            "properties": {
                "message": _STRING,
                "type": _STRING,
                "param": {"type": "string", "nullable": True},
                "code": {"type": "string", "nullable": True},
            },
        }
    },
}


def _error(description: str) -> Schema:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _json(description: str, schema: Schema = _OBJECT) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_GATEWAY_ERRORS = {
    "400": _error("The body is not what Veil can read, or the policy blocks a type of personal data in it."),
    "401": _error("The Veil API key is missing or not valid (once virtual keys exist)."),
    "403": _error("The user withdrew consent to send requests to the provider."),
    "413": _error("The body is over `max_body_bytes`."),
    "500": _error("A privacy check could not run; nothing was forwarded."),
    "502": _error("The provider could not be reached."),
    "503": _error("Veil's database, the token vault or an upstream key is unavailable."),
    "504": _error("The provider did not answer in time."),
    "default": _json("The provider's own error, passed through with its status and body."),
}
_ADMIN_ERRORS = {
    "401": _error("No admin key, the wrong one, or the admin API is disabled."),
    "503": _error("Veil's database is unavailable."),
}
# A path parameter of Starlette's `path` type matches any characters but a line break.
_PATH_TEXT: Schema = {"type": "string", "minLength": 1, "pattern": "^[^\\n]+$"}
_USER = {"name": "user", "in": "path", "required": True, "schema": _PATH_TEXT}
_NO_ROUTE = {"404": _error("No such route: a path parameter with a line break, or an empty one.")}
_ADMIN: list[dict[str, list[str]]] = [{"adminKey": []}]


def openapi_document(endpoints: Sequence[Endpoint]) -> dict[str, Any]:
    paths: dict[str, Any] = {f"/v1{e.path}": {"post": _endpoint(e)} for e in endpoints}
    models = {"200": _json("The provider's answer, passed through."), "default": _GATEWAY_ERRORS["default"]}
    paths["/v1/models"] = {"get": {"operationId": "models", "responses": models}}
    paths["/v1/models/{model}"] = {
        "get": {
            "operationId": "model",
            "parameters": [{"name": "model", "in": "path", "required": True, "schema": _PATH_TEXT}],
            "responses": {**models, "400": _GATEWAY_ERRORS["400"]},
        }
    }
    paths["/healthz"] = {
        "get": {
            "operationId": "healthz",
            "responses": {
                "200": _json(
                    "Veil is up.",
                    {"type": "object", "required": ["status"], "properties": {"status": {"enum": ["ok"]}}},
                )
            },
        }
    }
    paths["/privacy/notice"] = {
        "get": {
            "operationId": "privacy_notice",
            "parameters": [
                {
                    "name": "format",
                    "in": "query",
                    "description": "`json`: JSON; anything else: the page. Absent: by the Accept header.",
                    "schema": _STRING,
                }
            ],
            "responses": {
                "200": {
                    "description": "The privacy notice for the policy in force (JSON or a page).",
                    "content": {"application/json": {"schema": _OBJECT}, "text/html": {"schema": _STRING}},
                }
            },
        }
    }
    paths.update(_admin_paths())
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Veil",
            "version": __version__,
            "description": "A privacy gateway for the OpenAI API.",
        },
        "paths": paths,
        "components": {
            "schemas": {"Error": _ERROR},
            "securitySchemes": {
                "adminKey": {"type": "http", "scheme": "bearer", "description": "VEIL_ADMIN_KEY"},
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A Veil virtual key or the provider's key",
                },
            },
        },
    }


def _endpoint(endpoint: Endpoint) -> dict[str, Any]:
    reply: dict[str, Any] = {"application/json": {"schema": _OBJECT}}
    if endpoint.stream is not None:
        reply["text/event-stream"] = {"schema": {}}
    return {
        "operationId": endpoint.name,
        "security": [{}, {"apiKey": []}],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _REQUESTS.get(endpoint.name, _OBJECT)}},
        },
        "responses": {
            "200": {"description": "The provider's reply, its values restored.", "content": reply},
            **_GATEWAY_ERRORS,
        },
    }


def _admin_paths() -> dict[str, Any]:
    consent = {
        "type": "object",
        "required": ["subject", "consent", "history"],
        "properties": {
            "subject": _STRING,
            "consent": _OBJECT,
            "history": {"type": "array", "items": _OBJECT},
        },
    }
    subject = "/admin/subjects/{user}"
    invalid = {"400": _error("The request is not what the admin API takes.")}
    return {
        f"{subject}/export": {
            "get": _admin("export", {"200": _json("Everything held about the user.")}),
        },
        f"{subject}/erase": {
            "post": _admin("erase", {"200": _json("The erasure receipt.")}),
        },
        f"{subject}/consent": {
            "get": _admin("consent", {"200": _json("The user's consent and its history.", consent)}),
            "put": {
                **_admin("set_consent", {"200": _json("The consent after the change.", consent), **invalid}),
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["purpose", "granted"],
                                "properties": {
                                    "purpose": {"enum": list(PURPOSES)},
                                    "granted": {"type": "boolean"},
                                },
                            }
                        }
                    },
                },
            },
        },
        "/admin/portal-tokens": {
            "post": {
                **_admin(
                    "issue_portal_token",
                    {
                        "200": _json(
                            "A portal link for the user.",
                            {
                                "type": "object",
                                "required": ["token", "url", "expires_at"],
                                "properties": {
                                    "token": _STRING,
                                    "url": _STRING,
                                    "expires_at": {"type": "number"},
                                },
                            },
                        ),
                        **invalid,
                    },
                    path_user=False,
                ),
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["user"],
                                "properties": {
                                    "user": {"type": "string", "minLength": 1},
                                    "ttl_seconds": {"type": "number", "nullable": True},
                                },
                            }
                        }
                    },
                },
            }
        },
        "/admin/audit/verify": {
            "get": _admin(
                "verify_audit",
                {
                    "200": _json(
                        "Whether the audit chain is intact.",
                        {
                            "type": "object",
                            "required": ["ok", "entries", "first_bad_seq", "problem"],
                            "properties": {
                                "ok": {"type": "boolean"},
                                "entries": {"type": "integer"},
                                "first_bad_seq": {"type": "integer", "nullable": True},
                                "problem": {"type": "string", "nullable": True},
                            },
                        },
                    )
                },
                path_user=False,
            )
        },
    }


def _admin(name: str, responses: dict[str, Any], *, path_user: bool = True) -> dict[str, Any]:
    return {
        "operationId": name,
        "security": _ADMIN,
        "parameters": [_USER] if path_user else [],
        "responses": {**responses, **_ADMIN_ERRORS, **(_NO_ROUTE if path_user else {})},
    }


def openapi_route(endpoints: Sequence[Endpoint]) -> Route:
    document = openapi_document(endpoints)

    async def serve(request: Request) -> Response:
        return JSONResponse(document)

    return secured("/openapi.json", serve, methods=["GET"])
