"""Which words of a reply are surrogates: a made name's given name or surname on its own,
when it can mean no one else, and surrogates in markdown emphasis but not in identifiers.
Each case whole and cut in three at every pair of points, as a stream."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from veil.pseudonymize.memory_vault import MemoryVault
from veil.pseudonymize.restore import Restorer, StreamRestorer
from veil.pseudonymize.surrogates import name_parts

# Stand-ins as Veil makes them: a given name and a surname from its lists.
LINDA = {"Ana Moreno": "Linda Smith"}


def split_anywhere(text: str) -> list[list[str]]:
    """`text` cut in three at every pair of points."""
    return [[text[:a], text[a:b], text[b:]] for a in range(len(text) + 1) for b in range(a, len(text) + 1)]


def assert_restored(
    surrogates: dict[str, str], reply: str, expected: str, *, json_string: bool = False
) -> None:
    restorer = Restorer(MemoryVault(3600), "scope", surrogates)
    assert restorer.restore(reply, json_string=json_string) == expected
    for pieces in split_anywhere(reply):
        stream = StreamRestorer(restorer, json_string=json_string)
        assert "".join(map(stream.feed, pieces)) + stream.finish() == expected, pieces


def test_the_stand_ins_here_are_made_names() -> None:
    assert name_parts("Ana Moreno", "Linda Smith") == (("Ana", "Linda"), ("Moreno", "Smith"))
    assert name_parts("ANA MORENO", "Mary Ann Smith") == (("ANA", "Mary"), ("MORENO", "Smith"))
    assert name_parts("Ana", "Linda") == ()
    assert name_parts("Lorenzo Dale", "Linda Smith") == (), "a dale is a valley: no made name"
    assert name_parts("GB82 WEST 1234 5698 7654 32", "GB33 BUKB 2020 1555 5555 55") == ()


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("Ana said Moreno's draft is fine.", "Linda said Smith's draft is fine."),
        ("ANA agreed; so did moreno.", "Linda agreed; so did Smith."),
        ("Dear Ana,\nthanks. Ms. Moreno", "Dear Linda,\nthanks. Ms. Smith"),
        ("Moreno, Ana: Ana Moreno", "Smith, Linda: Linda Smith"),
        ("Call Moreno or ask Ana", "Call Smith or ask Linda"),
        ("Banana Anagram Morenos", "Banana Anagram Morenos"),
    ],
)
def test_a_made_names_given_name_or_surname_alone_is_restored(reply: str, expected: str) -> None:
    assert_restored(LINDA, reply, expected)


def test_of_a_longer_real_name_the_parts_stand_for_its_first_and_last_word() -> None:
    assert_restored({"Ana Moreno": "Mary Ann Smith"}, "Ana and Moreno", "Mary and Smith")


@pytest.mark.parametrize(
    "reply",
    [
        "Ana Costa called.",  # another Ana
        "Maria Moreno called.",  # another Moreno
        "Ana-Maria called.",
        "ana.moreno@example.org bounced",  # an address, its digit dropped
        "Write to moreno@example.org",
    ],
)
def test_a_part_joined_to_another_name_or_in_an_address_is_left_as_written(reply: str) -> None:
    assert_restored(LINDA, reply, reply)


def test_two_stand_ins_sharing_a_given_name_leave_it_as_written() -> None:
    """ "Ana" alone could be either person: it stays the stand-in, never the wrong person."""
    surrogates = {"Ana Moreno": "Linda Smith", "Ana Castillo": "Mary Jones"}

    assert_restored(
        surrogates,
        "Ana said Moreno and Castillo agree with Ana Moreno and Ana Castillo.",
        "Ana said Smith and Jones agree with Linda Smith and Mary Jones.",
    )


def test_two_stand_ins_sharing_a_given_name_for_the_same_real_one_restore_it() -> None:
    surrogates = {"Ana Moreno": "Linda Smith", "Ana Castillo": "Linda Jones"}

    assert_restored(surrogates, "Ana met Castillo.", "Linda met Jones.")


def test_a_stand_in_sent_whole_keeps_its_own_value() -> None:
    """The caller wrote "Mary" alone and it went out as "Ana": "Ana" is Mary, not Linda."""
    assert_restored({**LINDA, "Ana": "Mary"}, "Ana saw Moreno.", "Mary saw Smith.")


def test_a_part_that_is_a_word_of_a_real_value_is_left_as_written() -> None:
    """The caller wrote about an Ana too: the model may have read "Ana" where nothing was
    replaced, so "Ana" alone is not taken for Linda."""
    surrogates = {**LINDA, "Nora Castillo": "Ana Souza"}

    assert_restored(surrogates, "Ana, Moreno and Nora", "Ana, Smith and Ana")


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("_Ana Moreno_ signed.", "_Linda Smith_ signed."),
        ("**__Ana Moreno__** and ___Ana___", "**__Linda Smith__** and ___Linda___"),
        ("_moreno_, *Ana*", "_Smith_, *Linda*"),
        ("see ana_moreno_id, _ana_id, x_Ana_ and moreno_", "see ana_moreno_id, _ana_id, x_Ana_ and Smith_"),
    ],
)
def test_markdown_emphasis_is_a_word_boundary_an_identifier_is_not(reply: str, expected: str) -> None:
    assert_restored(LINDA, reply, expected)


def test_in_json_emphasis_may_follow_an_escape() -> None:
    reply = json.dumps({"body": "Hi,\n_Ana Moreno_\n__Moreno__ (ana_moreno_id)"})
    expected = json.dumps({"body": "Hi,\n_Linda Smith_\n__Smith__ (ana_moreno_id)"})

    assert_restored(LINDA, reply, expected, json_string=True)


def test_a_part_waits_for_the_word_after_it_in_a_stream() -> None:
    stream = StreamRestorer(Restorer(MemoryVault(3600), "scope", LINDA))

    assert stream.feed("Thanks Ana") == "Thanks "
    assert stream.feed(" Co") == ""
    assert stream.feed("sta, and Ana") == "Ana Costa, and "
    assert stream.feed(" said") == ""
    assert stream.feed(" hi") == "Linda said hi"
    assert stream.finish() == ""


def test_a_stream_holds_back_one_name_and_what_is_joined_to_it_no_more() -> None:
    stream = StreamRestorer(Restorer(MemoryVault(3600), "scope", LINDA))

    assert stream.feed("Ana Ana Ana Co") == "Ana Ana "
    assert stream.feed("sta. Ana-Moreno. Ana") == "Ana Costa. Ana-Moreno. "
    assert stream.finish() == "Linda"


SURROGATES = {**LINDA, "Nora Castillo": "Mary Jones", "Carla": "Sue"}
PIECES = [
    *("Ana", "ana", "ANA", "Moreno", "moreno", "Nora", "Castillo", "Carla", "Ana Moreno", "Nora Castillo"),
    *("Costa", "Maria", "Call", "the", "x", "é"),
    *(" ", "  ", "-", ".", "@", ",", "_", "__", "*", "'s", "\\n", "\n", "<PERSON_1>"),
]


@settings(max_examples=200, deadline=None)
@given(
    text=st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=2)), max_size=30).map("".join),
    cuts=st.lists(st.integers(0, 200), max_size=8),
    json_string=st.booleans(),
)
def test_names_parts_and_emphasis_split_anywhere_restore_as_whole(
    text: str, cuts: list[int], json_string: bool
) -> None:
    """Whatever the cuts, a stream gives what the whole text gives; after each delta it has
    sent all but a tail of at most 64 characters (a surrogate with emphasis, or a part and
    what is joined to it), restored as the whole text would be."""
    oracle = Restorer(MemoryVault(3600), "scope", SURROGATES)
    stream = StreamRestorer(Restorer(MemoryVault(3600), "scope", SURROGATES), json_string=json_string)
    points = sorted({min(cut, len(text)) for cut in cuts})
    sent = ""
    for start, end in zip([0, *points], [*points, len(text)], strict=True):
        sent += stream.feed(text[start:end])
        assert any(
            oracle.restore(text[:shown], json_string=json_string, ahead=text[shown:end]) == sent
            for shown in range(max(0, end - 64), end + 1)
        ), (text[:end], sent)
    assert sent + stream.finish() == oracle.restore(text, json_string=json_string)
