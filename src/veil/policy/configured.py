"""The policy when no policy file is given: made from the settings, and its version.

The version is a content hash of every setting that changes what happens to personal data,
so a record stamped with it traces back to exactly one configuration.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from veil.config import Settings
from veil.policy.document import PolicyDocument, Retention, TenantPolicy
from veil.policy.loading import Policy
from veil.store.consent import DEFAULTS

# The settings that decide what is detected, sent, kept and for how long.
_POLICY_FIELDS = (
    "ner_model",
    "allow_list",
    "scan_responses",
    "phone_region",
    "storage_mode",
    "retention_transcripts_days",
    "retention_metadata_days",
    "retention_vault_days",
    "consent_defaults",
    "subject_sources",
    "upstream_base_url",
)


def policy_document(settings: Settings) -> dict[str, Any]:
    document = {name: _plain(getattr(settings, name)) for name in _POLICY_FIELDS}
    document["consent_defaults"] = consent_defaults(settings)
    return document


def consent_defaults(settings: Settings) -> dict[str, bool]:
    """Veil's consent defaults with the configuration's choices applied."""
    return {purpose: settings.consent_defaults.get(purpose, default) for purpose, default in DEFAULTS.items()}


def policy_version(settings: Settings) -> str:
    """`sha256:` and the first 16 hex digits of the policy document's canonical JSON."""
    canonical = json.dumps(policy_document(settings), sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, dict):
        return dict(sorted(value.items()))
    return value


def settings_policy(settings: Settings) -> Policy:
    """Every tenant gets the default section, made from the settings."""
    default = TenantPolicy(
        allow=tuple(settings.allow_list),
        response_scanning="redact" if settings.scan_responses else "off",
        storage_mode=settings.storage_mode,
        retention=Retention(
            transcripts_days=settings.retention_transcripts_days,
            metadata_days=settings.retention_metadata_days,
            vault_days=settings.retention_vault_days,
        ),
    )
    return Policy(PolicyDocument(default=default), {}, policy_version(settings), "settings")
