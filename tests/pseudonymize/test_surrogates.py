"""Surrogates: the same kind and layout as the real value, from ranges kept for fiction,
stable per scope, never shared by two values, and restored in replies."""

from __future__ import annotations

import ipaddress
import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from veil.detect.card import luhn_valid
from veil.detect.iban import mod97_valid
from veil.detect.wordlist import data_words
from veil.pseudonymize.memory_vault import MemoryVault
from veil.pseudonymize.restore import Restorer, StreamRestorer
from veil.pseudonymize.surrogates import Surrogates
from veil.pseudonymize.surrogates import _given_names as given_names

SURROGATES = Surrogates(b"s" * 32)


def make(entity_type: str, value: str, ordinal: int = 1, scope: str = "scope") -> str:
    return SURROGATES.make(scope, entity_type, ordinal, value)


@pytest.mark.parametrize(
    ("value", "layout"),
    [
        ("4111 1111 1111 1111", r"\d{4} \d{4} \d{4} \d{4}"),
        ("4111-1111-1111-1111", r"\d{4}-\d{4}-\d{4}-\d{4}"),
        ("378282246310005", r"\d{15}"),
    ],
)
def test_a_card_surrogate_keeps_the_layout_and_passes_luhn_under_the_test_prefix(
    value: str, layout: str
) -> None:
    fake = make("CREDIT_CARD", value)

    assert re.fullmatch(layout, fake)
    digits = re.sub(r"\D", "", fake)
    assert digits.startswith("400000") and luhn_valid(digits)
    assert fake != value


@pytest.mark.parametrize(
    "value", ["DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432", "FR1420041010050500013M02606"]
)
def test_an_iban_surrogate_is_valid_for_the_same_country(value: str) -> None:
    fake = make("IBAN_CODE", value)

    assert fake[:2] == value[:2]
    assert mod97_valid(fake.replace(" ", ""))
    assert len(fake) == len(value) and (" " in fake) == (" " in value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("(415) 555-2671", r"\(\d{3}\) 555-01\d\d"),
        ("+44 20 7946 0018", r"\+44 \d\d \d{4} \d{4}"),
        ("+1 212 555 0199", r"\+1 \d{3} 555 01\d\d"),
    ],
)
def test_a_phone_surrogate_keeps_country_code_and_layout(value: str, expected: str) -> None:
    assert re.fullmatch(expected, make("PHONE_NUMBER", value))


def test_other_surrogates_come_from_ranges_kept_for_documentation() -> None:
    assert make("EMAIL_ADDRESS", "ana@corp.com").rsplit("@", 1)[1] in {
        "example.com",
        "example.net",
        "example.org",
    }
    assert re.fullmatch(r"9\d\d-\d\d-\d{4}", make("US_SSN", "123-45-6789"))
    v4 = ipaddress.ip_address(make("IP_ADDRESS", "10.0.0.7"))
    assert any(v4 in ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"))
    assert ipaddress.ip_address(make("IP_ADDRESS", "fe80::1")) in ipaddress.ip_network("2001:db8::/32")


def test_a_name_keeps_its_shape() -> None:
    assert len(make("PERSON", "Ana Lima").split()) == 2
    assert make("PERSON", "ana").islower() and " " not in make("PERSON", "ana")
    assert make("PERSON", "Ana Lima") != "Ana Lima"


# Census names that are everyday words too, beside the curated lists of such given names.
NAMES_THAT_ARE_WORDS = """
    don mark guy pat grace joy bill will may hope frank rose
    white young king brown green black hall hill wood price cook baker walker little long
"""
EVERYDAY_WORDS = {
    *data_words("common_word_names.txt"),
    *data_words("never_alone_names.txt"),
    *data_words("not_name_words.txt"),
    *NAMES_THAT_ARE_WORDS.split(),
}


def test_a_made_name_or_address_shares_no_word_with_the_real_one() -> None:
    """With ~800 given names, 1 in 800 stand-ins would otherwise reuse the real given name."""
    for name in given_names():
        for ordinal in (1, 2, 3):
            real = f"{name.title()} Smith"
            assert not {w.lower() for w in make("PERSON", real, ordinal).split()} & {name, "smith"}
            email = make("EMAIL_ADDRESS", f"{name}.smith@corp.test", ordinal)
            assert not set(re.findall(r"[a-z]+", email.split("@")[0])) & {name, "smith"}


def test_a_made_name_is_never_an_everyday_word() -> None:
    """The reply's "Don't" or "mark the box" must not hold a stand-in to restore."""
    made = {
        make("PERSON", value, ordinal) for ordinal in range(1, 3001) for value in ("Linda", "Linda Smith")
    }
    words = {word.lower() for name in made for word in name.split()}

    assert len(words) > 1000
    assert not words & EVERYDAY_WORDS
    assert all(len(word) >= 3 and word.isalpha() for word in words)


def test_a_reply_in_everyday_words_has_no_stand_in_to_restore() -> None:
    restorer = Restorer(
        MemoryVault(3600), "scope", {make("PERSON", "Linda", n): f"Person{n}" for n in range(1, 1001)}
    )
    reply = (
        "Don't mark the box. Will you bill Pat? Grace may hope Frank and Guy bring joy, "
        "a white rose, green wood and a king's price."
    )

    assert restorer.restore(reply) == reply


def test_surrogates_depend_on_scope_and_ordinal_only() -> None:
    assert make("PERSON", "Ana Lima") == make(
        "PERSON", "Bo Chan"
    )  # the vault gives each value its own ordinal
    assert make("PERSON", "Ana Lima", scope="a") != make("PERSON", "Ana Lima", scope="b")
    assert make("PERSON", "Ana Lima", ordinal=1) != make("PERSON", "Ana Lima", ordinal=2)


def test_the_vault_gives_each_value_its_own_surrogate_every_time() -> None:
    vault = MemoryVault(3600)
    people = [("PERSON", f"Person Number{n}") for n in range(300)]

    first = vault.tokens_for("scope", people, SURROGATES)
    again = vault.tokens_for("scope", list(reversed(people)), SURROGATES)

    assert len(set(first)) == len(people)
    assert again == list(reversed(first))
    assert vault.value_for("scope", first[7]) == "Person Number7"


def test_surrogates_are_restored_whole_word_and_in_any_case() -> None:
    restorer = Restorer(
        MemoryVault(3600), "scope", {"Lorenzo Dale": "Ana Lima", "4000 0012 3456 7899": "4111 1111 1111 1111"}
    )

    out = restorer.restore("LORENZO DALE paid with 4000 0012 3456 7899; Lorenzo Dalebury did not.")

    assert out == "Ana Lima paid with 4111 1111 1111 1111; Lorenzo Dalebury did not."


@given(st.integers(min_value=0, max_value=60), st.integers(min_value=0, max_value=60))
def test_a_surrogate_split_anywhere_in_a_stream_is_restored_whole(first: int, second: int) -> None:
    reply = "Dear Lorenzo Dale, your card 4000 0012 3456 7899 is ok. Lorenzo"
    cuts = sorted([min(first, len(reply)), min(second, len(reply))])
    pieces = [reply[: cuts[0]], reply[cuts[0] : cuts[1]], reply[cuts[1] :]]
    restorer = Restorer(
        MemoryVault(3600),
        "scope",
        {"Lorenzo Dale": "Ana Lima", "Lorenzo": "ana", "4000 0012 3456 7899": "4111 1111 1111 1111"},
    )
    stream = StreamRestorer(restorer)

    out = "".join(stream.feed(piece) for piece in pieces) + stream.finish()

    assert out == "Dear Ana Lima, your card 4111 1111 1111 1111 is ok. ana"


def split_anywhere(text: str) -> list[list[str]]:
    """`text` whole, and cut in three at every pair of points."""
    return [[text[:a], text[a:b], text[b:]] for a in range(len(text) + 1) for b in range(a, len(text) + 1)]


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("Sayın LİNDA SMİTH", "Sayın Ana Lima"),  # noqa: RUF001  Turkish capitals: "İ".lower() is no "i"
        ("lında smıth", "Ana Lima"),  # noqa: RUF001  the dotless i
        ("Dear Linda Smith.", "Dear Ana Lima."),
    ],
)
def test_a_surrogate_matched_in_any_case_is_restored_whole_and_streamed(reply: str, expected: str) -> None:
    restorer = Restorer(MemoryVault(3600), "scope", {"Linda Smith": "Ana Lima"})

    assert restorer.restore(reply) == expected
    for pieces in split_anywhere(reply):
        stream = StreamRestorer(restorer)
        assert "".join(map(stream.feed, pieces)) + stream.finish() == expected, pieces


def test_in_json_a_surrogate_may_start_right_after_an_escape() -> None:
    """`\\n`, `\\t` or `\\u00a0` end in a letter or digit, yet what follows starts a word; an
    escaped backslash followed by an n does not."""
    restorer = Restorer(MemoryVault(3600), "scope", {"Linda Smith": 'Ana "Al" Lima'})
    reply = r'{"body": "Hi,\n\nLinda Smith\tLinda Smith\u00a0Linda Smith \\nLinda Smith"}'
    expected = r'{"body": "Hi,\n\nAna \"Al\" Lima\tAna \"Al\" Lima\u00a0Ana \"Al\" Lima \\nLinda Smith"}'

    assert restorer.restore(reply, json_string=True) == expected
    assert json.loads(expected)["body"].count('Ana "Al" Lima') == 3
    assert restorer.restore(r"x\nLinda Smith") == r"x\nLinda Smith", "plain text: \\n is no escape"
    for pieces in split_anywhere(reply):
        stream = StreamRestorer(restorer, json_string=True)
        assert "".join(map(stream.feed, pieces)) + stream.finish() == expected, pieces
