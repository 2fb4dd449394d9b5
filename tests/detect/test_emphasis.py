import re

from hypothesis import given
from hypothesis import strategies as st

from veil.detect.emphasis import without_emphasis


def test_emphasis_pairs_are_blanked() -> None:
    assert without_emphasis("mail _ann@example.com_ now") == "mail  ann@example.com  now"
    assert without_emphasis("__078-05-1121__, ___x___") == "  078-05-1121  ,    x   "
    assert without_emphasis("call (_+1 212 555 0142_)") == "call ( +1 212 555 0142 )"
    assert without_emphasis("_a_ and _b_") == " a  and  b "
    assert without_emphasis("_my_var_ here") == " my_var  here"


def test_underscores_that_are_no_emphasis_stay() -> None:
    for text in ("snake_case_name", "self._x = 1", "_open but never closed", "a__b", "_ _", "x_\ny_", "__"):
        assert without_emphasis(text) == text


@given(st.text(alphabet=st.sampled_from("_ab1 .@\n+"), max_size=40))
def test_only_underscores_change_and_the_length_stays(text: str) -> None:
    plain = without_emphasis(text)
    assert len(plain) == len(text)
    assert all(a == b or (a == "_" and b == " ") for a, b in zip(text, plain, strict=True))


# The rule as one regular expression: what `without_emphasis` must do, in linear time.
REFERENCE = re.compile(r"(?<!\w)(_{1,3})(?=[^\W_]|[+(][0-9])(?P<inner>.+?)(?<=[^\W_])\1(?!\w)")


PIECES = st.sampled_from(["_", "__", "___", "a", "1", " ", ".", "\n", "+", "(", "é"])


@given(st.lists(PIECES, max_size=40).map("".join))
def test_pairs_are_those_of_the_rule(text: str) -> None:
    expected = REFERENCE.sub(lambda m: " " * len(m[1]) + m["inner"] + " " * len(m[1]), text)
    assert without_emphasis(text) == expected


def test_a_long_line_of_openings_that_never_close_is_left_alone() -> None:
    text = "_a " * 50_000 + "\n" + "_b\n" * 50_000 + "c_"
    assert without_emphasis(text) == text
