import pytest

from veil.detect.api_key import ApiKeyDetector

DETECTOR = ApiKeyDetector()

OPENAI_PROJECT = "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zT3BlbkFJ"
OPENAI_LEGACY = "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"
OPENAI_SERVICE = "sk-svcacct-Ab3dEf6hIj9kLm2nOp5qRs8tUv1w"
ANTHROPIC = "sk-ant-api03-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z" * 3 + "-AA"
GITHUB_CLASSIC = "ghp_" + ("a1B2c3D4e5F6g7H8i9J0" * 2)[:36]
GITHUB_FINE = "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTU"
SLACK_BOT = "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
SLACK_HOOK_PATH = "hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"
STRIPE = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"
GOOGLE = "AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe"


def found(text: str) -> list[str]:
    return sorted(text[span.start : span.end] for span in DETECTOR.find(text))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"OPENAI_API_KEY={OPENAI_PROJECT}", [OPENAI_PROJECT]),
        (f"key {OPENAI_LEGACY}.", [OPENAI_LEGACY]),
        (f'"{OPENAI_SERVICE}"', [OPENAI_SERVICE]),
        (f"x-api-key: {ANTHROPIC}", [ANTHROPIC]),
        (f"token {GITHUB_CLASSIC}", [GITHUB_CLASSIC]),
        (
            f"ghu_{GITHUB_CLASSIC[4:]} gho_{GITHUB_CLASSIC[4:]}",
            [f"gho_{GITHUB_CLASSIC[4:]}", f"ghu_{GITHUB_CLASSIC[4:]}"],
        ),
        (GITHUB_FINE, [GITHUB_FINE]),
        (SLACK_BOT, [SLACK_BOT]),
        (f"https://{SLACK_HOOK_PATH}", [SLACK_HOOK_PATH]),
        (f"stripe {STRIPE}", [STRIPE]),
        ("pk_live_51HxYzAbCdEf0123456789", ["pk_live_51HxYzAbCdEf0123456789"]),
        (f"maps {GOOGLE}", [GOOGLE]),
        # negatives beside the positives
        ("sk-abc123", []),  # too short
        ("sk-proj-abc123", []),
        ("sk-learn-compatible-estimator-wrapper", []),  # no digit: a slug
        ("ask-Ab3dEf6hIj9kLm2nOp5qT3BlbkFJRs8tUv1w", []),  # glued to a word
        ("ghp_short1", []),
        ("xoxb-", []),
        ("sk_live_", []),
        (f"{GOOGLE}x", []),  # Google keys have an exact length
        ("the task-force met", []),
    ],
)
def test_api_key(text: str, expected: list[str]) -> None:
    assert found(text) == expected


def test_project_key_is_one_span() -> None:
    spans = list(DETECTOR.find(OPENAI_PROJECT))
    assert {(span.start, span.end) for span in spans} == {(0, len(OPENAI_PROJECT))}
