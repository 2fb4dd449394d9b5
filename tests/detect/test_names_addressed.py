import pytest

from veil.detect.names_addressed import AddressedNameDetector

DETECTOR = AddressedNameDetector()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the speakers of a transcript, listed or not
        ("Arya: What a wife.\nShawn: Remember me?", ["Arya", "Shawn"]),
        ('Marius: "Who are you?"\\nTeresa: "Me."', ["Marius", "Teresa"]),  # an escaped line break
        ("Mineko: hello there", []),  # one line is a label, not a dialogue
        ("Mineko: hi\nMineko: again", []),  # one speaker is no dialogue either
        # roles, note labels, docstring sections and person fields are no speakers
        ("User: hi\nAssistant: hello\nNote: this", []),
        ("Args: x\nReturns: y\nRaises: z", []),
        ("Tenant: Sherlock Holmes\nLandlord: Irene Adler", []),
        # someone addressed by name, then a request or a pronoun
        ("Wisław, can I please speak to you?", ["Wisław"]),
        ("Thanks. Hilbrand, please send it", ["Hilbrand"]),
        ("Sorry, can you help? Actually, I think so. Okay, we go.", []),
        ("Reporting, I think, is fine", []),  # an English ending
        ("Hilbrand, the report", []),  # no request or pronoun after the comma
        # lowercase: only a plain listed given name
        ('Rewrite politely: "priya, your report is late again."', ["priya"]),
        ('"mark, you there?" and so, can you', []),
    ],
)
def test_addressed_names(text: str, expected: list[str]) -> None:
    assert [text[span.start : span.end] for span in DETECTOR.find(text)] == expected


def test_trigger_is_never_stricter_than_find() -> None:
    assert DETECTOR.trigger is not None
    assert DETECTOR.trigger.search("Arya: hi\nShawn: yo") and DETECTOR.trigger.search("Wisław, can I")
    assert not list(DETECTOR.find("no colon or comma here at all"))
