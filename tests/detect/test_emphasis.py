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
