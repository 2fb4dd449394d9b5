"""What Veil does with personal data, per tenant, and the version every decision carries."""

from veil.policy.configured import consent_defaults, policy_document, policy_version

__all__ = ["consent_defaults", "policy_document", "policy_version"]
