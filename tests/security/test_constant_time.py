"""Keys, tokens, signatures and CSRF tokens are compared in constant time.

No timing is measured (that would be a flaky test); instead each check is seen to decide
through `hmac.compare_digest`, on values of a fixed length where the presented value's
length could otherwise show, and the modules that handle credentials are read to hold no
`==` between two computed values.
"""

from __future__ import annotations

import ast
import hmac
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

import veil
from veil.store.database import Database
from veil.store.virtual_keys import VirtualKeys
from veil.web.admin_key import AdminKey
from veil.web.portal_tokens import PortalTokens
from veil.web.sessions import Session
from veil.web.signer import Signer

SRC = Path(veil.__file__).parent
# The modules that check what a client presents.
CREDENTIAL_MODULES = (
    "web/admin_key.py",
    "web/signer.py",
    "web/sessions.py",
    "web/portal_tokens.py",
    "web/admin_api.py",
    "web/dashboard.py",
    "web/portal.py",
    "store/virtual_keys.py",
    "tenancy.py",
)


class Spy:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, Any, bool]] = []
        self._real = hmac.compare_digest

    def __call__(self, a: Any, b: Any) -> bool:
        result = self._real(a, b)
        self.calls.append((a, b, result))
        return result

    def take(self) -> list[tuple[Any, Any, bool]]:
        calls, self.calls = self.calls, []
        return calls


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Iterator[Spy]:
    watcher = Spy()
    monkeypatch.setattr(hmac, "compare_digest", watcher)
    yield watcher


@pytest.mark.parametrize("presented", ["admin-key-Q7", "admin-key-Q8", "a", "admin-key-Q7" * 40, ""])
def test_the_admin_key_is_compared_as_digests_of_one_length(spy: Spy, presented: str) -> None:
    key = AdminKey(SecretStr("admin-key-Q7"))

    matched = key.matches_bearer({"authorization": f"Bearer {presented}"})

    [(a, b, result)] = spy.take()
    assert len(a) == len(b) == 32  # SHA-256 digests: the presented key's length does not show
    assert matched is result is (presented == "admin-key-Q7")


def test_a_signed_token_or_cookie_is_opened_through_compare_digest(spy: Spy) -> None:
    tokens = PortalTokens(b"s" * 32, default_ttl_seconds=60)
    issued = tokens.issue("subject:abc")
    spy.take()

    assert tokens.verify(issued.token) is not None
    assert spy.take()[0][2] is True
    tampered = issued.token[:-1] + ("A" if issued.token[-1] != "A" else "B")
    assert tokens.verify(tampered) is None
    assert spy.take()[0][2] is False
    assert Signer(b"k" * 32, "other").open(issued.token) is None
    assert spy.take()[0][2] is False


def test_the_csrf_token_is_compared_through_compare_digest(spy: Spy) -> None:
    session = Session("subject:abc", 2_000_000_000, "csrf-token-value")

    assert session.accepts("csrf-token-value")
    assert not session.accepts("csrf-token-valuf")
    assert [result for _, _, result in spy.take()] == [True, False]


def test_a_virtual_key_secret_is_compared_through_compare_digest(spy: Spy, tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'veil.db'}")
    db.migrate()
    keys = VirtualKeys(db)
    _, key = keys.create("acme")
    wrong = key[:-1] + ("A" if key[-1] != "A" else "B")
    spy.take()

    assert keys.tenant_of(key) == "acme"
    assert keys.tenant_of(wrong) is None
    db.dispose()
    assert [result for _, _, result in spy.take()] == [True, False]


def computed_equalities(path: Path, root: Path = SRC) -> list[str]:
    """`==` / `!=` between two values that are not literals and not SQL column expressions."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        for op, left, right in zip(node.ops, operands, operands[1:], strict=False):
            if not isinstance(op, ast.Eq | ast.NotEq):
                continue
            if any(_literal(side) or ".c." in ast.unparse(side) for side in (left, right)):
                continue
            sign = "==" if isinstance(op, ast.Eq) else "!="
            where = f"{path.relative_to(root)}:{node.lineno}"
            found.append(f"{where}: {ast.unparse(left)} {sign} {ast.unparse(right)}")
    return found


def _literal(node: ast.expr) -> bool:
    try:
        ast.literal_eval(node)
    except ValueError:
        return False
    return True


def test_credential_modules_compare_no_two_computed_values_with_equals() -> None:
    found = [line for module in CREDENTIAL_MODULES for line in computed_equalities(SRC / module)]

    assert found == []


def test_the_scan_finds_a_plain_comparison(tmp_path: Path) -> None:
    module = tmp_path / "check.py"
    module.write_text("def ok(candidate, key):\n    return candidate == key or key != 'x'\n")

    assert computed_equalities(module, tmp_path) == ["check.py:2: candidate == key"]
