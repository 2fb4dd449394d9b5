"""Which tenant a request belongs to, and what it runs under: the tenant's policy (at the
version in force when the request started), its analyzer and its upstream key.

A client presents a virtual key (`vk-…`, see `store.virtual_keys`) as its bearer token.
Once any virtual key exists (or `require_keys` is set), a request without a valid one is
refused with 401; before that, every request is the default tenant's and the client's own
key (or the configured upstream key) is used, as without tenants. A virtual key is never
forwarded: the tenant's upstream key is sent instead.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeGuard

import anyio

from veil.detect.base import TextAnalyzer
from veil.errors import Unauthorized, UpstreamKeyMissing
from veil.policy.document import TenantPolicy
from veil.policy.holder import PolicyHolder
from veil.policy.loading import Policy
from veil.scope import DEFAULT_TENANT
from veil.store.virtual_keys import VirtualKeys

VIRTUAL_KEY_PREFIX = "vk-"


@dataclass(frozen=True, slots=True)
class Tenancy:
    tenant: str
    policy: TenantPolicy
    policy_version: str
    analyzer: TextAnalyzer
    # The key to send upstream; None: pass the client's own authorization on.
    upstream_key: str | None


class Tenancies:
    def __init__(
        self,
        keys: VirtualKeys,
        policies: PolicyHolder,
        build_analyzer: Callable[[TenantPolicy], TextAnalyzer],
        *,
        upstream_key: str | None,
        require_keys: bool,
        environ: Mapping[str, str],
        max_analyzers: int = 64,
    ) -> None:
        self._keys = keys
        self._policies = policies
        self._build_analyzer = build_analyzer
        self._upstream_key = upstream_key
        self._require_keys = require_keys
        self._environ = environ
        self._max_analyzers = max_analyzers
        self._analyzers: OrderedDict[tuple[str, str], TextAnalyzer] = OrderedDict()
        self._lock = threading.Lock()

    async def resolve(self, headers: Mapping[str, str]) -> Tenancy:
        """Raises Unauthorized (401) or UpstreamKeyMissing (503), and StoreError when the
        database cannot say. Reads the database only when a key is not in this process's
        short-lived cache, and then in a worker thread: a lookup waiting for a locked table
        holds up its own request, never the event loop and every other request with it."""
        bearer = _bearer(headers)
        tenant = self._cached_tenant(bearer)
        if tenant is None:
            tenant = await anyio.to_thread.run_sync(self._read_tenant, bearer)
        policy = self._policies.current()
        tenant_policy = policy.for_tenant(tenant)
        upstream_key = self._upstream_key
        if tenant_policy.upstream_key_env:
            upstream_key = self._environ.get(tenant_policy.upstream_key_env) or None
            if upstream_key is None:
                raise UpstreamKeyMissing(f"No upstream API key is configured for tenant {tenant}.")
        if _is_virtual(bearer) and upstream_key is None:
            raise UpstreamKeyMissing(f"No upstream API key is configured for tenant {tenant}.")
        return Tenancy(tenant, tenant_policy, policy.version, self._analyzer(policy, tenant), upstream_key)

    def _cached_tenant(self, bearer: str | None) -> str | None:
        """The request's tenant as this process's key cache knows it; None when the database
        must be read."""
        if _is_virtual(bearer):
            known = self._keys.cached_tenant_of(bearer)
            return None if known is None else _key_tenant(known.tenant)
        if self._require_keys:
            return _keyless_tenant(keys_required=True)
        keys_exist = self._keys.cached_any_exist()
        return None if keys_exist is None else _keyless_tenant(keys_required=keys_exist)

    def _read_tenant(self, bearer: str | None) -> str:
        if _is_virtual(bearer):
            return _key_tenant(self._keys.tenant_of(bearer))
        return _keyless_tenant(keys_required=self._require_keys or self._keys.any_exist())

    def _analyzer(self, policy: Policy, tenant: str) -> TextAnalyzer:
        key = (policy.version, tenant if tenant in policy.tenants else DEFAULT_TENANT)
        with self._lock:
            analyzer = self._analyzers.get(key)
            if analyzer is not None:
                self._analyzers.move_to_end(key)
                return analyzer
        analyzer = self._build_analyzer(policy.for_tenant(tenant))
        with self._lock:
            analyzer = self._analyzers.setdefault(key, analyzer)
            while len(self._analyzers) > self._max_analyzers:
                self._analyzers.popitem(last=False)
        return analyzer


def _key_tenant(tenant: str | None) -> str:
    """The tenant of a request with a virtual key: its own, if the key is valid."""
    if tenant is None:
        raise Unauthorized("The Veil API key is not valid or has been revoked.")
    return tenant


def _keyless_tenant(*, keys_required: bool) -> str:
    """The tenant of a request without a virtual key: the default one, while keys are optional."""
    if keys_required:
        raise Unauthorized("This gateway requires a Veil API key (vk-…) as the bearer token.")
    return DEFAULT_TENANT


def _is_virtual(bearer: str | None) -> TypeGuard[str]:
    return bearer is not None and bearer.startswith(VIRTUAL_KEY_PREFIX)


def _bearer(headers: Mapping[str, str]) -> str | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None
