"""Scopes: whose data a request's values are; tenants never share one."""

from __future__ import annotations

from veil.scope import DEFAULT_TENANT, ScopeResolver, tenant_of

RESOLVER = ScopeResolver(b"k" * 32, "x-veil-subject")


def test_the_same_user_in_two_tenants_is_two_subjects() -> None:
    body = {"user": "u-1"}

    plain = RESOLVER.resolve(body, {})
    acme = RESOLVER.resolve(body, {}, tenant="acme")
    globex = RESOLVER.resolve(body, {}, tenant="globex")

    assert len({plain, acme, globex}) == 3
    assert (tenant_of(plain), tenant_of(acme), tenant_of(globex)) == (DEFAULT_TENANT, "acme", "globex")
    assert acme == RESOLVER.subject_scope("u-1", "acme")
    assert RESOLVER.resolve(body, {}, tenant=DEFAULT_TENANT) == plain


def test_without_a_subject_the_key_is_the_scope() -> None:
    headers = {"authorization": "Bearer sk-a"}

    assert RESOLVER.resolve({}, headers).startswith("key:")
    assert RESOLVER.resolve({}, headers) != RESOLVER.resolve({}, {"authorization": "Bearer sk-b"})


def test_the_provider_sees_a_hash_unlike_the_stored_scope() -> None:
    body = {"user": "u-1", "safety_identifier": "u-1"}
    scope = RESOLVER.resolve(body, {})

    RESOLVER.hide_subject(body)

    assert body["user"] == body["safety_identifier"] != "u-1"
    assert scope.split(":")[1] not in body["user"]
