"""Policy files: validation errors naming line and field, versions, tenants, reload, diff."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from fake_clock import FakeClock
from veil.policy.diff import diff_policies
from veil.policy.holder import PolicyHolder
from veil.policy.loading import PolicyError, parse_policy

GOOD = """\
description = "Support bot"

[default]
default_action = "pseudonymize"

[default.actions]
CREDIT_CARD = "mask"
US_SSN = "block"

[tenants.acme]
storage_mode = "full"
deny = ["Project Falcon"]
retention = { transcripts_days = 7, metadata_days = 30, vault_days = 1 }

[tenants.acme.actions]
PERSON = "surrogate"

[[tenants.acme.detectors]]
entity_type = "EMPLOYEE_ID"
pattern = 'EMP-\\d{6}'
"""


def test_a_valid_file_resolves_each_tenant_over_the_default() -> None:
    policy = parse_policy(GOOD)

    acme = policy.for_tenant("acme")
    assert acme.action_for("PERSON") == "surrogate"
    assert acme.action_for("CREDIT_CARD") == "mask"  # from the default section
    assert acme.action_for("EMAIL_ADDRESS") == "pseudonymize"
    assert acme.storage_mode == "full" and acme.retention.vault_days == 1
    assert policy.for_tenant("unknown") == policy.for_tenant(None) == policy.document.default
    assert policy.version.startswith("sha256:")


def test_the_version_is_the_content_not_the_layout() -> None:
    actions = 'CREDIT_CARD = "mask"\nUS_SSN = "block"'
    reordered = GOOD.replace(actions, 'US_SSN = "block"\nCREDIT_CARD  =  "mask"')
    commented = "# reviewed 2026-11\n" + GOOD

    assert reordered != GOOD
    assert parse_policy(commented).version == parse_policy(reordered).version == parse_policy(GOOD).version
    assert parse_policy(GOOD.replace('"mask"', '"redact"')).version != parse_policy(GOOD).version


@pytest.mark.parametrize(
    ("change", "line", "field", "message"),
    [
        (
            ('PERSON = "surrogate"', 'PERSON = "surogate"'),
            16,
            "tenants.acme.actions.PERSON",
            "Input should be",
        ),
        (('storage_mode = "full"', 'storage_mode = "fulll"'), 11, "tenants.acme.storage_mode", "'metadata'"),
        (
            ('entity_type = "EMPLOYEE_ID"', 'entity_type = "employee_id"'),
            19,
            "tenants.acme.detectors.0.entity_type",
            "UPPER_SNAKE_CASE",
        ),
        (
            ('entity_type = "EMPLOYEE_ID"', 'entity_type = "EMPLOYEE_ID2"'),
            19,
            "tenants.acme.detectors.0.entity_type",
            "no digits",
        ),
        (
            ("pattern = 'EMP-\\d{6}'", "pattern = 'EMP-(\\d{6}'"),
            20,
            "tenants.acme.detectors.0.pattern",
            "not a valid regular expression",
        ),
        (
            ('CREDIT_CARD = "mask"', 'CREDIT_CARD = "mask"\nSHOE_SIZE = 1'),
            8,
            "default.actions.SHOE_SIZE",
            "Input should be",
        ),
        (
            ('default_action = "pseudonymize"', 'default_acton = "pseudonymize"'),
            4,
            "default.default_acton",
            "not a known setting",
        ),
        (("[tenants.acme]", "[tenants.Acme]"), None, "tenants", "not a tenant name"),
    ],
)
def test_each_problem_names_its_line_and_field(
    change: tuple[str, str], line: int | None, field: str, message: str
) -> None:
    with pytest.raises(PolicyError) as raised:
        parse_policy(GOOD.replace(*change), "policy.toml")

    problems = [(p.line, p.field) for p in raised.value.problems]
    assert (line, field) in problems if line else any(f == field for _, f in problems), raised.value
    assert message in str(raised.value)


def test_a_syntax_error_names_its_line() -> None:
    with pytest.raises(PolicyError) as raised:
        parse_policy(GOOD.replace("[tenants.acme.actions]", "[tenants.acme.actions"))

    assert raised.value.problems[0].line == 15


def test_the_holder_reloads_a_changed_file_and_keeps_the_old_policy_on_a_bad_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(GOOD)
    clock = FakeClock()
    holder = PolicyHolder(parse_policy(GOOD), path, check_every=1.0, clock=clock)
    first = holder.current()

    path.write_text(GOOD.replace('"mask"', '"redact"'))
    os.utime(path, ns=(1, 1))
    assert holder.current() is first  # not checked again yet
    clock.advance(2)
    second = holder.current()
    assert second.version != first.version and second.for_tenant(None).action_for("CREDIT_CARD") == "redact"

    path.write_text(GOOD.replace('"mask"', '"shred"'))
    clock.advance(2)
    with caplog.at_level(logging.ERROR, logger="veil.policy"):
        assert holder.current() is second
    assert "not valid" in caplog.text and "line" in caplog.text


def test_diff_names_each_changed_setting_per_tenant() -> None:
    old = parse_policy(GOOD)
    new = parse_policy(
        GOOD.replace('PERSON = "surrogate"', 'PERSON = "redact"').replace(
            'US_SSN = "block"', 'US_SSN = "hash"'
        )
    )

    changes = {(c.tenant, c.setting, c.old, c.new) for c in diff_policies(old, new)}

    assert changes == {
        ("acme", "actions.PERSON", "surrogate", "redact"),
        ("acme", "actions.US_SSN", "block", "hash"),
        ("(default)", "actions.US_SSN", "block", "hash"),
    }
    assert diff_policies(old, parse_policy("# same\n" + GOOD)) == []
