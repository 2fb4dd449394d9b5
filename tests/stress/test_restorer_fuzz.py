"""Fuzzing the streaming restorer: text made of token-like pieces (every accepted token
form, unknown and malformed tokens, surrogates in any case, glued to words or not), split
anywhere, restores exactly as the whole text does, and never holds back more than a
possible token or surrogate.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from stress_profiles import Profile

from veil.pseudonymize.memory_vault import MemoryVault
from veil.pseudonymize.restore import Restorer, StreamRestorer
from veil.pseudonymize.tokens import MAX_TOKEN_LENGTH

SCOPE = "subject:fuzz"
VALUES = [("EMAIL_ADDRESS", "ana@example.com"), ("PERSON", 'Ana "Q" Lima'), ("PHONE_NUMBER", "+1 415\\555")]
# surrogate → the real value it stands in for
SURROGATES = {"Jon Smith": "Ana Lima", "Acme Corp": "Globex", "J": "Q"}

VAULT = MemoryVault(ttl_seconds=3600)
VAULT.tokens_for(SCOPE, VALUES)
PIECES = [
    "<",
    ">",
    "[",
    "]",
    "&lt;",
    "&gt;",
    "&l",
    "&",
    "lt;",
    "g",
    " ",
    "_",
    "\\_",
    "\\",
    '"',
    "\n",
    "1",
    "2",
    "9",
    "1234567",
    "EMAIL_ADDRESS_1",
    "email_address_1",
    "EMAIL\\_ADDRESS\\_1",
    "EMAIL ADDRESS 1",
    "EMAIL_ADDRESS",
    "PERSON_1",
    "PHONE_NUMBER_1",
    "PERSON_77",
    "<EMAIL_ADDRESS_1>",
    "[PERSON_1]",
    "&lt;PHONE_NUMBER_1&gt;",
    "< EMAIL_ADDRESS_1 >",
    "Jon Smith",
    "jon smith",
    "JON SMITH",
    "Jon",
    "Smith",
    "Acme Corp",
    "acme corp",
    "Acme",
    "J",
    "j",
    "x",
    "é",
    "😀",
]
texts = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=3)), max_size=40).map("".join)
cut_points = st.lists(st.integers(0, 400), max_size=15)
HOLD_BOUND = max(MAX_TOKEN_LENGTH, *map(len, SURROGATES))


def pieces_of(text: str, cuts: list[int]) -> list[str]:
    points = sorted({min(cut, len(text)) for cut in cuts})
    return [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]


def test_split_anywhere_restores_as_whole(profile: Profile) -> None:
    @profile.hypothesis(300, 10_000)
    @given(text=texts, cuts=cut_points, json_string=st.booleans())
    def check(text: str, cuts: list[int], json_string: bool) -> None:
        whole = Restorer(VAULT, SCOPE, SURROGATES).restore(text, json_string=json_string)
        stream = StreamRestorer(Restorer(VAULT, SCOPE, SURROGATES), json_string=json_string)
        out = [stream.feed(piece) for piece in pieces_of(text, cuts)]
        assert "".join(out) + stream.finish() == whole

    check()


def test_one_character_at_a_time(profile: Profile) -> None:
    @profile.hypothesis(150, 3000)
    @given(text=texts)
    def check(text: str) -> None:
        whole = Restorer(VAULT, SCOPE, SURROGATES).restore(text)
        stream = StreamRestorer(Restorer(VAULT, SCOPE, SURROGATES))
        assert "".join(stream.feed(c) for c in text) + stream.finish() == whole

    check()


def test_never_holds_back_more_than_a_possible_token(profile: Profile) -> None:
    """After each delta, what was sent is the restoration of all the text so far but a
    tail no longer than the longest token or surrogate."""

    @profile.hypothesis(150, 3000)
    @given(text=texts, cuts=cut_points)
    def check(text: str, cuts: list[int]) -> None:
        oracle = Restorer(VAULT, SCOPE, SURROGATES)
        stream = StreamRestorer(Restorer(VAULT, SCOPE, SURROGATES))
        fed, sent = "", ""
        for piece in pieces_of(text, cuts):
            fed += piece
            sent += stream.feed(piece)
            assert any(
                oracle.restore(fed[: len(fed) - held]) == sent
                for held in range(min(HOLD_BOUND, len(fed)) + 1)
            ), (fed, sent)

    check()


def test_restored_json_strings_stay_valid_json(profile: Profile) -> None:
    """Inside a JSON string (tool arguments, structured output) a restored value with a
    quote or a backslash goes in escaped: the document still parses."""
    import json

    @profile.hypothesis(150, 3000)
    @given(
        words=st.lists(
            st.sampled_from(["<EMAIL_ADDRESS_1>", "[PERSON_1]", "PHONE_NUMBER_1", "x "]), max_size=8
        )
    )
    def check(words: list[str]) -> None:
        document = json.dumps({"note": "".join(words)})
        stream = StreamRestorer(Restorer(VAULT, SCOPE), json_string=True)
        restored = "".join(stream.feed(c) for c in document) + stream.finish()
        assert json.loads(restored)["note"] == Restorer(VAULT, SCOPE).restore("".join(words))

    check()


def test_an_html_escaped_token_is_restored_whole_and_streamed() -> None:
    """`&lt;TYPE_N&gt;` is an accepted form (a model that HTML-escapes its output), also
    when no `<` or `[` is near it."""
    for text in ("&lt;PHONE_NUMBER_1&gt;", "call &lt;PHONE_NUMBER_1&gt; now"):
        expected = text.replace("&lt;PHONE_NUMBER_1&gt;", "+1 415\\555")
        assert Restorer(VAULT, SCOPE).restore(text) == expected
        stream = StreamRestorer(Restorer(VAULT, SCOPE))
        assert "".join(stream.feed(c) for c in text) + stream.finish() == expected


def test_a_surrogate_glued_to_the_word_before_a_cut_stays_a_word() -> None:
    """Surrogates match whole words: "Jo" + "anne" is the word "Joanne" even when the
    stream is cut between them, and "Anne" a surrogate only after a space."""
    restorer = Restorer(VAULT, SCOPE, {"Anne": "Ana Lima"})
    for pieces, expected in (
        (["Jo", "anne", " came"], "Joanne came"),
        (["Jo", "an", "ne"], "Joanne"),
        (["Jo ", "anne", " came"], "Jo Ana Lima came"),
    ):
        stream = StreamRestorer(restorer)
        assert "".join(map(stream.feed, pieces)) + stream.finish() == expected
        assert restorer.restore("".join(pieces)) == expected
