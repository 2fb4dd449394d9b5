"""Each policy action on the request side: what replaces a value, and what is refused."""

from __future__ import annotations

import pytest

from veil.detect.analyzer import Analyzer
from veil.detect.registry import default_detectors
from veil.errors import Blocked
from veil.policy.document import TenantPolicy
from veil.pseudonymize.memory_vault import MemoryVault
from veil.pseudonymize.pseudonymizer import Pseudonymizer
from veil.pseudonymize.surrogates import Surrogates

TEXT = "Card 4111 1111 1111 1111, mail ana@example.com, SSN 536-22-8726."


@pytest.fixture
def pseudonymizer() -> Pseudonymizer:
    return Pseudonymizer(
        Analyzer(default_detectors()),
        MemoryVault(3600),
        surrogates=Surrogates(b"s" * 32),
        hash_secret=b"h" * 32,
    )


def run(pseudonymizer: Pseudonymizer, **actions: str) -> str:
    policy = TenantPolicy.model_validate({"actions": actions})
    return pseudonymizer.pseudonymize("scope", [TEXT], policy).texts[0]


def test_without_a_policy_every_value_gets_its_token(pseudonymizer: Pseudonymizer) -> None:
    result = pseudonymizer.pseudonymize("scope", [TEXT])

    assert result.texts == ["Card <CREDIT_CARD_1>, mail <EMAIL_ADDRESS_1>, SSN <US_SSN_1>."]
    assert result.actions == {
        "CREDIT_CARD": "pseudonymize",
        "EMAIL_ADDRESS": "pseudonymize",
        "US_SSN": "pseudonymize",
    }


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("allow", "Card 4111 1111 1111 1111,"),
        ("pseudonymize", "Card <CREDIT_CARD_1>,"),
        ("redact", "Card [REDACTED_CREDIT_CARD],"),
        ("mask", "Card **** **** **** 1111,"),
    ],
)
def test_each_action_on_a_card(pseudonymizer: Pseudonymizer, action: str, expected: str) -> None:
    assert run(pseudonymizer, CREDIT_CARD=action).startswith(expected)


def test_hash_is_stable_per_scope_and_not_the_value(pseudonymizer: Pseudonymizer) -> None:
    first = run(pseudonymizer, EMAIL_ADDRESS="hash")
    again = run(pseudonymizer, EMAIL_ADDRESS="hash")
    elsewhere = pseudonymizer.pseudonymize(
        "other", [TEXT], TenantPolicy(actions={"EMAIL_ADDRESS": "hash"})
    ).texts[0]

    assert first == again != elsewhere
    assert "ana@example.com" not in first and "<EMAIL_ADDRESS#" in first


def test_a_surrogate_is_realistic_and_reported_for_restoring(pseudonymizer: Pseudonymizer) -> None:
    result = pseudonymizer.pseudonymize("scope", [TEXT], TenantPolicy(actions={"CREDIT_CARD": "surrogate"}))

    (fake,) = result.surrogates
    assert result.surrogates[fake] == "4111 1111 1111 1111"
    assert result.texts[0].startswith(f"Card {fake},") and fake.startswith("4000 00")


def test_a_type_without_a_surrogate_maker_falls_back_to_its_token(pseudonymizer: Pseudonymizer) -> None:
    result = pseudonymizer.pseudonymize(
        "scope", ["key AKIAIOSFODNN7EXAMPLF"], TenantPolicy(default_action="surrogate")
    )

    assert result.texts == ["key <AWS_ACCESS_KEY_ID_1>"]
    assert result.actions == {"AWS_ACCESS_KEY_ID": "pseudonymize"}


def test_block_names_the_types_and_never_the_values(pseudonymizer: Pseudonymizer) -> None:
    with pytest.raises(Blocked) as blocked:
        run(pseudonymizer, US_SSN="block", CREDIT_CARD="block")

    assert blocked.value.entity_types == ["CREDIT_CARD", "US_SSN"]
    assert "536-22-8726" not in str(blocked.value) and "4111" not in str(blocked.value)
    assert blocked.value.status_code == 400


def test_a_threshold_above_a_finding_s_score_lets_it_pass(pseudonymizer: Pseudonymizer) -> None:
    policy = TenantPolicy(thresholds={"EMAIL_ADDRESS": 1.0}, default_threshold=0.0)
    result = pseudonymizer.pseudonymize("scope", [TEXT], policy)

    assert "ana@example.com" in result.texts[0] and "<CREDIT_CARD_1>" in result.texts[0]
