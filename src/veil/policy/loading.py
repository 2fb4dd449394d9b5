"""Reading a policy file (TOML): validation errors that name the line and the field, and the
version that every decision made under the policy carries."""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from veil.policy.document import PolicyDocument, TenantPolicy

_TABLE = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_.-]+)\s*=""")


@dataclass(frozen=True, slots=True)
class Problem:
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.field}: {self.message}"


class PolicyError(ValueError):
    """The policy file cannot be used; `problems` say where and why, one per field."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {problem}" for problem in problems))


@dataclass(frozen=True, slots=True)
class Policy:
    """A loaded policy: the document, each tenant resolved, and its version."""

    document: PolicyDocument
    tenants: dict[str, TenantPolicy]
    version: str
    source: str

    def for_tenant(self, tenant: str | None) -> TenantPolicy:
        if tenant is None:
            return self.document.default
        return self.tenants.get(tenant, self.document.default)


def load_policy(path: Path) -> Policy:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PolicyError(
            str(path), [Problem(None, "(file)", f"cannot be read: {type(error).__name__}")]
        ) from None
    return parse_policy(text, str(path))


def parse_policy(text: str, source: str = "<policy>") -> Policy:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        line = getattr(error, "lineno", None) or _line_from_message(str(error))
        raise PolicyError(source, [Problem(line, "(syntax)", str(error).split(" (at line")[0])]) from None
    problems: list[Problem] = []
    try:
        document = PolicyDocument.model_validate(raw)
    except ValidationError as error:
        raise PolicyError(source, _problems(error, (), text)) from None
    tenants = {}
    for name in document.tenants:
        try:
            tenants[name] = document.tenant(name)
        except ValidationError as error:
            problems += _problems(error, ("tenants", name), text)
    if problems:
        raise PolicyError(source, problems)
    return Policy(document, tenants, content_version(raw), source)


def content_version(raw: dict[str, Any]) -> str:
    """A hash of the policy's content: comments, layout and key order do not change it."""
    canonical = json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def _problems(error: ValidationError, prefix: tuple[str, ...], text: str) -> list[Problem]:
    problems = []
    for item in error.errors():
        loc = prefix + tuple(str(part) for part in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "is not a known setting"
        problems.append(Problem(_line_of(text, loc), ".".join(loc), message))
    return problems


def _line_of(text: str, loc: tuple[str, ...]) -> int | None:
    """The line where the field at `loc` is written: its `key =` line inside its table, or
    the table's header. Best effort: None when the field is not written (a missing one)."""
    table: tuple[str, ...] = ()
    arrays: dict[tuple[str, ...], int] = {}
    best: int | None = None
    best_depth = -1
    for number, line in enumerate(text.splitlines(), start=1):
        header = _TABLE.match(line)
        if header:
            table = tuple(_unquote(part) for part in header.group(2).split("."))
            if header.group(1) == "[[":
                # An array of tables: its items are numbered as pydantic numbers them.
                arrays[table] = arrays.get(table, -1) + 1
                table += (str(arrays[table]),)
            depth = _common(table, loc)
            if depth == len(table) and depth > best_depth:
                best, best_depth = number, depth
            continue
        key = _KEY.match(line)
        if key:
            path = table + tuple(_unquote(part) for part in key.group(1).split("."))
            depth = _common(path, loc)
            if (depth == len(path) and depth > best_depth) or (depth == len(loc) and depth >= best_depth):
                best, best_depth = number, depth
    return best


def _common(path: tuple[str, ...], loc: tuple[str, ...]) -> int:
    count = 0
    for a, b in zip(path, loc, strict=False):
        if a != b:
            break
        count += 1
    return count


def _unquote(part: str) -> str:
    part = part.strip()
    if len(part) >= 2 and part[0] == part[-1] and part[0] in "\"'":
        return part[1:-1]
    return part


def _line_from_message(message: str) -> int | None:
    found = re.search(r"at line (\d+)", message)
    return int(found.group(1)) if found else None
