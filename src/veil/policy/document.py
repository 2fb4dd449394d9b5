"""The policy file's shape: per tenant, what to do with each entity type, and the rest of
what decides the fate of personal data. Validated with pydantic; unknown keys are errors.

A tenant's section overrides the `default` section field by field; `actions` and
`thresholds` merge entry by entry, so a tenant names only what differs.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Action = Literal["allow", "pseudonymize", "surrogate", "redact", "mask", "hash", "block"]
ACTIONS: tuple[Action, ...] = ("allow", "pseudonymize", "surrogate", "redact", "mask", "hash", "block")
StorageMode = Literal["none", "metadata", "pseudonymized", "full"]

# Letters in words joined by single underscores: the only names a token (`<EMPLOYEE_ID_1>`)
# is found again by in a reply (`pseudonymize.tokens`); "ID2" or "EMP__ID" would never restore.
_ENTITY_TYPE = re.compile(r"(?=.{1,64}\Z)[A-Z]+(?:_[A-Z]+)*")
_TENANT = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CustomDetector(_Strict):
    """A regular expression whose matches are personal data of `entity_type`."""

    entity_type: str
    pattern: str
    score: float = Field(default=0.9, gt=0, le=1)

    @field_validator("entity_type")
    @classmethod
    def _entity_type(cls, value: str) -> str:
        if not _ENTITY_TYPE.fullmatch(value):
            raise ValueError("must be UPPER_SNAKE_CASE letters, like EMPLOYEE_ID (no digits)")
        return value

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, value: str) -> str:
        try:
            compiled = re.compile(value)
        except re.error as error:
            raise ValueError(f"is not a valid regular expression: {error}") from None
        if compiled.match(""):
            raise ValueError("matches the empty string")
        return value


class Retention(_Strict):
    """Days to keep each category (vault mappings: from their last use)."""

    transcripts_days: float = Field(default=30.0, gt=0)
    metadata_days: float = Field(default=90.0, gt=0)
    vault_days: float = Field(default=7.0, gt=0)


class ProviderControls(_Strict):
    """What the provider may keep and learn, whatever the request asks. Without these, the
    subject's `provider_retention` consent decides `store` and `metadata`."""

    # Always send `store: false`, even for subjects who agreed to provider retention.
    force_store_false: bool = False
    # Never send the request's `metadata` tags.
    drop_metadata: bool = False
    # The end-user ids (`user`, `safety_identifier`): a keyed hash, or not sent at all.
    subject_ids: Literal["hash", "drop"] = "hash"


class TenantPolicy(_Strict):
    actions: dict[str, Action] = Field(default_factory=dict)
    # For entity types `actions` does not name.
    default_action: Action = "pseudonymize"
    # Minimum detector score per entity type (0..1); below it a finding is ignored.
    thresholds: dict[str, float] = Field(default_factory=dict)
    default_threshold: float = Field(default=0.0, ge=0, le=1)
    # Terms never treated as personal data, and terms always treated as such (DENY_LIST).
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    detectors: tuple[CustomDetector, ...] = ()
    # Replies: redact values the caller never sent, or leave replies unscanned.
    response_scanning: Literal["redact", "off"] = "redact"
    storage_mode: StorageMode = "metadata"
    retention: Retention = Field(default_factory=Retention)
    provider: ProviderControls = Field(default_factory=ProviderControls)
    # The environment variable holding this tenant's upstream API key.
    upstream_key_env: str | None = None

    @field_validator("actions", "thresholds")
    @classmethod
    def _entity_keys(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in value:
            if not _ENTITY_TYPE.fullmatch(key):
                raise ValueError(f"{key!r} is not an entity type (UPPER_SNAKE_CASE letters: EMAIL_ADDRESS)")
        return value

    @field_validator("thresholds")
    @classmethod
    def _scores(cls, value: dict[str, float]) -> dict[str, float]:
        for key, score in value.items():
            if not 0 <= score <= 1:
                raise ValueError(f"the threshold for {key} must be between 0 and 1")
        return value

    @field_validator("allow", "deny")
    @classmethod
    def _terms(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not term.strip() for term in value):
            raise ValueError("terms must not be empty")
        return value

    def action_for(self, entity_type: str) -> Action:
        return self.actions.get(entity_type, self.default_action)

    def threshold_for(self, entity_type: str) -> float:
        return self.thresholds.get(entity_type, self.default_threshold)


class PolicyDocument(_Strict):
    """The whole file."""

    description: str = ""
    default: TenantPolicy = Field(default_factory=TenantPolicy)
    tenants: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("tenants")
    @classmethod
    def _tenant_names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            if not _TENANT.fullmatch(name):
                raise ValueError(f"{name!r} is not a tenant name (lowercase letters, digits, - and _)")
        return value

    def tenant(self, name: str) -> TenantPolicy:
        """The default section with the tenant's own fields laid over it."""
        overrides = self.tenants.get(name)
        if not overrides:
            return self.default
        merged = self.default.model_dump()
        for key, value in overrides.items():
            if key in ("actions", "thresholds") and isinstance(value, dict):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
        return TenantPolicy.model_validate(merged)
