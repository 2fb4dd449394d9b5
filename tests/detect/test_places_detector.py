import pytest

from veil.detect.analyzer import Analyzer
from veil.detect.base import Span
from veil.detect.places import PlaceDetector, default_countries

DETECTOR = PlaceDetector()


def found(text: str) -> list[tuple[str, float]]:
    return [(text[span.start : span.end], span.score) for span in DETECTOR.find(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("We moved here from Cyprus", [("Cyprus", 0.7)]),
        ('"Carry Me Back To Czech Republic,"', [("Czech Republic", 0.7)]),
        ("shipped to NEW ZEALAND today", [("NEW ZEALAND", 0.7)]),
        ("Bosnia and Herzegovina", [("Bosnia and Herzegovina", 0.7)]),
        ("Guinea-Bissau", [("Guinea-Bissau", 0.7)]),
        # the town line above a country line in an address block
        ("Leigha Mackay\n\nLa Sagne\nSwitzerland", [("Switzerland", 0.7), ("La Sagne", 0.88)]),
        ("Eloise McKenzie\n\nPARIS\nFrance", [("France", 0.7), ("PARIS", 0.88)]),
        # negatives: lowercase words, a name inside a longer word, a town line with more on it
        ("roast turkey and chile con carne from china", []),
        ("Francesca and Indiana", []),
        ("The Jordan Peterson talk", []),
        ("We met at 10 Main Street in the morning\nFrance", [("France", 0.7)]),
    ],
)
def test_places(text: str, expected: list[tuple[str, float]]) -> None:
    assert found(text) == expected


def test_countries_are_lowercase_and_loaded_once() -> None:
    countries = default_countries()
    assert countries is default_countries()
    assert {"france", "united kingdom", "côte d'ivoire"} <= countries
    assert all(name == name.lower() for name in countries)
    assert "jordan" not in countries


def test_countries_are_injectable() -> None:
    detector = PlaceDetector(frozenset({"atlantis"}))
    assert [s.entity_type for s in detector.find("Atlantis and France")] == ["LOCATION"]


class _ModelReadsAPerson:
    """Stands in for the NER model where it reads the town line as a PERSON."""

    name = "ner"
    guesses = True

    def __init__(self, value: str) -> None:
        self.value = value

    def find(self, text: str) -> list[Span]:
        start = text.index(self.value)
        return [Span("PERSON", start, start + len(self.value), 0.85, self.name)]


def test_a_town_line_wins_over_the_model_reading_it_as_a_person() -> None:
    text = "Paul Waechter\n\nJestetten\nGermany"
    spans = Analyzer([PlaceDetector(), _ModelReadsAPerson("Jestetten")]).analyze(text)
    assert [(s.entity_type, text[s.start : s.end]) for s in spans] == [
        ("LOCATION", "Jestetten"),
        ("LOCATION", "Germany"),
    ]
