"""What changes between two policies, setting by setting, for every tenant as resolved."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from veil.policy.loading import Policy

DEFAULT_TENANT = "(default)"


@dataclass(frozen=True, slots=True)
class Change:
    tenant: str
    setting: str
    old: Any
    new: Any

    def __str__(self) -> str:
        return f"{self.tenant}: {self.setting}: {_show(self.old)} -> {_show(self.new)}"


_ABSENT = object()


def diff_policies(old: Policy, new: Policy) -> list[Change]:
    """Every setting whose effective value differs, tenant by tenant (the default section
    counts as a tenant; a tenant present in only one policy is compared with the other's
    default, which is what its requests would get)."""
    changes = []
    names = sorted(set(old.tenants) | set(new.tenants))
    for tenant, before, after in [
        (DEFAULT_TENANT, old.document.default, new.document.default),
        *((name, old.for_tenant(name), new.for_tenant(name)) for name in names),
    ]:
        flat_before, flat_after = _flatten(before.model_dump()), _flatten(after.model_dump())
        for setting in sorted(set(flat_before) | set(flat_after)):
            a, b = flat_before.get(setting, _ABSENT), flat_after.get(setting, _ABSENT)
            if a != b:
                changes.append(Change(tenant, setting, a, b))
    for name in sorted(set(new.tenants) - set(old.tenants)):
        changes.append(Change(name, "(tenant)", _ABSENT, "added"))
    for name in sorted(set(old.tenants) - set(new.tenants)):
        changes.append(Change(name, "(tenant)", "present", "removed: now gets the default section"))
    return changes


def _flatten(document: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in document.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, f"{path}."))
        else:
            flat[path] = value
    return flat


def _show(value: Any) -> str:
    return "(unset)" if value is _ABSENT else repr(value)
