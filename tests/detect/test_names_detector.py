import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from veil.detect.names import NameDetector, NameLists, default_name_lists, fold
from veil.detect.names_shapes import NameShapeDetector

DETECTOR = NameDetector()


def found(text: str, detector: NameDetector = DETECTOR) -> list[str]:
    return [text[span.start : span.end] for span in detector.find(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a listed first name, extended over the surname and what sits between
        ("Maria Gonzalez called yesterday", ["Maria Gonzalez"]),
        ("I met John Smith in Leeds", ["John Smith"]),
        ("Mary-Jane O'Neil is here", ["Mary-Jane O'Neil"]),
        ("John F. Kennedy", ["John F. Kennedy"]),
        ("ask Maria de la Cruz", ["Maria de la Cruz"]),
        ("José García and Łukasz Nowak", ["José García", "Łukasz Nowak"]),
        ("JOHN SMITH", ["JOHN SMITH"]),
        ("John's car", ["John"]),
        ("Svitlana Jurković arrived", ["Svitlana Jurković"]),  # curated world list
        # a title, then any capitalised name; the title stays outside
        ("Dr. Nakamura said", ["Nakamura"]),
        ("Mr. Smith and Mrs Jones", ["Smith", "Jones"]),
        ("Herr Müller", ["Müller"]),
        ("Sra. Fernández", ["Fernández"]),
        # lowercase names after cues
        ("my name is maria gonzalez", ["maria gonzalez"]),
        ("hi john how are you", ["john"]),
        ("thanks maria for the help", ["maria"]),
        ("i am john", ["john"]),
        ("mr smith", ["smith"]),
        ("dr. patel will see you", ["patel"]),
        ("please email priya today", ["priya"]),
        ("my name is bibulat sultygov.", ["bibulat sultygov"]),
        # unlisted capitalised names after a strong cue
        ("My name is Bibulat Sultygov.", ["Bibulat Sultygov"]),
        ("Dear Svetoslav,", ["Svetoslav"]),
        ("Name: Affiano Ferrari\nAge: 41", ["Affiano Ferrari"]),
        ("First Name: Grace", ["Grace"]),
        # fields whose value is a person take an unlisted name; anything else after them does not
        ("Directed By:    Ivica Luthar", ["Ivica Luthar"]),
        ("Author: Mimount Bijster\nUser: Guilherme Alves", ["Mimount Bijster", "Guilherme Alves"]),
        ("User: Please help me with this", []),
        ("Tenant: Sherlock Holmes\nLandlord: Irene Adler", ["Sherlock Holmes", "Irene Adler"]),
        ("Assignee: Bug triage", []),
        ("call me Ishmael", ["Ishmael"]),
        # which name: "last name is", "maiden name is", and a question asking for one
        ("Her maiden name is Meza", ["Meza"]),
        ("my last name is kowalski", ["kowalski"]),
        ("The surname is Olsen.", ["Olsen"]),
        ("What's your last name? Chládek", ["Chládek"]),
        ("Your name? Bibulat Sultygov\nAge: 41", ["Bibulat Sultygov"]),
        ("everyone calls me Eija", ["Eija"]),
        ("She named him Brajko", ["Brajko"]),
        # after "my name is" a lone word may end like an English one
        ("My name is Anders.", ["Anders"]),
        ("My name is Rive", ["Rive"]),
        # names that are also words: supported, or capitalised in mid-sentence
        ("Will Smith acted", ["Will Smith"]),
        ("Ask Will about it", ["Will"]),
        ("call me will", ["will"]),
        ("Thanks, June!", ["June"]),
        ("I gave it to Mark yesterday", ["Mark"]),
        ("Grace Kelly", ["Grace Kelly"]),
        ("We were frank with Frank", ["Frank"]),
        # negatives beside the positives
        ("Will you help me?", []),
        ("Mark the box", []),
        ("Hope you are well", []),
        ("Frank discussions help", []),
        ("In May we went", []),
        ("this is May", []),
        ("I flew to Paris", []),
        ("i am happy", []),
        ("i'm frank with you", []),
        ("Dear Sir,", []),
        ("Dear Customer,", []),
        ("Dear Hiring Manager,", []),
        ("Name: John", ["John"]),
        ("File name: Report", []),
        ("name: Optional[str]", []),
        ("The parcel left the warehouse on time", []),
        ("MS SQL and MAC PAM SHA", []),
        ("Guilty Pleasures (But Secretly Love)", []),
        ("a file named config", []),
        ("my name is Processing Library", []),
        ("What is the file name? Report", []),
        ("What's your last name? It is long", []),
        ("He calls me back", []),
        ("Thanks. Will you come?", []),
    ],
)
def test_names(text: str, expected: list[str]) -> None:
    assert found(text) == expected


def test_scores_rank_support_above_list_only() -> None:
    (alone,) = DETECTOR.find("I saw Maria")
    (full,) = DETECTOR.find("I saw Maria Gonzalez")
    (cued,) = DETECTOR.find("My name is Bibulat")
    assert alone.score == 0.6
    assert full.score == 0.75
    assert alone.score < cued.score < full.score
    assert full.entity_type == "PERSON"


def test_lists_are_injectable() -> None:
    lists = NameLists(["zorblax", "tuesdai"], ["quux"], never_alone=["tuesdai"], not_names=["the"])
    detector = NameDetector(lists)
    assert found("Zorblax Quux left", detector) == ["Zorblax Quux"]
    assert found("John Smith left", detector) == []
    assert found("Tuesdai came", detector) == []
    assert found("Tuesdai Quux came", detector) == ["Tuesdai Quux"]


def test_default_lists_load_once_and_are_folded() -> None:
    assert default_name_lists() is default_name_lists()
    lists = default_name_lists()
    assert "jose" in lists.first_names  # "José" in the world list, folded
    assert "smith" in lists.surnames
    assert "may" in lists.never_alone
    assert "mark" in lists.common_words
    assert "the" in lists.not_names
    assert fold("Łukasz") == "lukasz"
    assert fold("O'Neil") == "oneil"


@pytest.mark.parametrize(
    "text",
    ["Maria Gonzalez", "hi john", "my name is bibulat", "Dr. Nakamura", "Łukasz", "dear svitlana"],
)
def test_trigger_is_never_stricter_than_find(text: str) -> None:
    assert DETECTOR.find(text)
    assert DETECTOR.trigger is not None
    assert DETECTOR.trigger.search(text)


def test_trigger_skips_lowercase_text_without_cues() -> None:
    assert DETECTOR.trigger is not None
    assert DETECTOR.trigger.search("the parcel left the warehouse on time") is None


def test_cues_found_when_lowercasing_changes_length() -> None:
    # "İ".lower() is two characters long, so offsets in a lowercased copy would drift.
    assert found("İstanbul: hi john") == ["john"]


SAMPLES = ["hi john", "my name is bibulat", "Maria Gonzalez", "Dr. Nakamura", "i am will", "dear svitlana"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(SAMPLES), st.text(max_size=12)), max_size=5).map(" ".join))
def test_no_trigger_means_nothing_to_find(text: str) -> None:
    assert DETECTOR.trigger is not None
    if DETECTOR.trigger.search(text) is None:
        assert list(DETECTOR.find(text)) == []


def test_ordinary_prose_is_quiet() -> None:
    prose = (
        "We launched the new version in May and the feedback has been great. Will the changes affect "
        "our Q3 roadmap? Mark the items that are blocking and bill the hours to marketing. I hope we can "
        "ship before the June deadline. Grace periods apply to all invoices. China and India grew fastest. "
        "The CEO said the merger with Delta Corp will close in April. Should I learn Rust or Go first? "
        "Frank feedback is welcome. Our team in Paris is hiring two engineers."
    )
    assert found(prose) == []


SHAPES = NameShapeDetector()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a middle initial or a Dutch/German particle between capitalised words
        ("Virpi V. Hull called", ["Virpi V. Hull"]),
        ("Torben S Kjeldsen\n12 Main Street", ["Torben S Kjeldsen"]),
        ("ask Frits van den Heuvel", ["Frits van den Heuvel"]),
        # a surname ending English words lack; the most telling ones alone too
        ("Esat Jeknić arrived", ["Esat Jeknić"]),
        ("signed by Ellinore Magnusson", ["Ellinore Magnusson"]),
        ("Mikulić began writing", ["Mikulić"]),
        ("Her maiden name is Jóhannesdóttir", ["Jóhannesdóttir"]),
        # a capitalised function word opening the sentence is not part of the name
        ("The Zarita Akhtakhanov version", ["Zarita Akhtakhanov"]),
        ("And Esat Jeknić said", ["Esat Jeknić"]),
        # two capitalised words, one outside ASCII
        ("User: Csenger Gábor", ["Csenger Gábor"]),
        # negatives: places, headings, English words with a surname's ending
        ("I live in São Paulo", []),
        ("In São Paulo we met", []),
        ("Plan B Options", []),
        ("The Person Comparison", []),
        ("Pydantic and Scientific Python", []),
        ("World War I ended", []),
        ("Reason and Season", []),
        ("Rio de Janeiro", []),
        ("The Ray Tracing Library Section A Results Table", []),
        ("MARIJA K NOVAK", []),  # capitals are `NameDetector`'s
    ],
)
def test_name_shapes(text: str, expected: list[str]) -> None:
    assert [text[s.start : s.end] for s in SHAPES.find(text)] == expected


def test_name_shapes_are_guesses_below_the_model() -> None:
    (span,) = SHAPES.find("Esat Jeknić")
    assert (span.entity_type, span.score, span.detector) == ("PERSON", 0.6, "name_shapes")
    assert SHAPES.guesses
