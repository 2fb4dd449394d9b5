import pytest

from veil.detect.base import Span
from veil.detect.ner_review import NerReview

REVIEW = NerReview()

# (text, the model's label, the model's span) -> (the type kept, its text) or None (dropped)
CASES = [
    # people the model labels ORG, GPE or NORP
    (
        "I want to add Dorothy M Faria as a beneficiary.",
        "ORGANIZATION",
        "Dorothy M Faria",
        ("PERSON", "Dorothy M Faria"),
    ),
    ("Reece Ellis lives at 12 Dalbraut.", "ORGANIZATION", "Reece Ellis", ("PERSON", "Reece Ellis")),
    (
        "Ask Christiane S de Vaan about it.",
        "ORGANIZATION",
        "Christiane S de Vaan",
        ("PERSON", "Christiane S de Vaan"),
    ),
    ("Hi Keith, thanks.", "LOCATION", "Keith", ("PERSON", "Keith")),
    ("I'm so jealous! said Ernest to Julia", "LOCATION", "Julia", ("PERSON", "Julia")),
    ("Charlotte Park signed it.", "LOCATION", "Charlotte Park", ("PERSON", "Charlotte Park")),
    (
        "He was a huge Nicklas A Olsen fan.",
        "ORGANIZATION",
        "Nicklas A Olsen fan",
        ("PERSON", "Nicklas A Olsen"),
    ),
    # unlisted people, where only a person fits
    ("Hi Keiran, I'm contacting you", "LOCATION", "Keiran", ("PERSON", "Keiran")),
    ("everyone calls me Calan", "LOCATION", "Calan", ("PERSON", "Calan")),
    ("said Naile to Caitlin", "ORGANIZATION", "Naile", ("PERSON", "Naile")),
    ("As promised, here's Arihiro's address:", "LOCATION", "Arihiro", ("PERSON", "Arihiro")),
    ("between him and Hijacinta's kid", "NRP", "Hijacinta", ("PERSON", "Hijacinta")),
    ("Thanks Deutsche Bank AG", "ORGANIZATION", "Deutsche Bank AG", ("ORGANIZATION", "Deutsche Bank AG")),
    ("Lostorf's economy grew", "LOCATION", "Lostorf", ("LOCATION", "Lostorf")),
    ("Her maiden name is Tougas", "NRP", "Tougas", ("PERSON", "Tougas")),
    ("Their family name is Oyelaran", "LOCATION", "Oyelaran", ("PERSON", "Oyelaran")),
    ("The file name is Data", "ORGANIZATION", "Data", ("ORGANIZATION", "Data")),  # whose name: none
    # one word the model calls a group, after a place preposition, that is no nationality
    ("We moved here from CAIRNESS", "NRP", "CAIRNESS", ("LOCATION", "CAIRNESS")),
    ("I am in Szerencs for a business trip", "NRP", "Szerencs", ("LOCATION", "Szerencs")),
    ("She is from Norwegian stock", "NRP", "Norwegian", ("NRP", "Norwegian")),
    ("It was written in Greek", "NRP", "Greek", ("NRP", "Greek")),
    # places, organisations and groups stay what the model said
    ("We live in Sofia now.", "LOCATION", "Sofia", ("LOCATION", "Sofia")),
    ("He works at Charlotte Park.", "ORGANIZATION", "Charlotte Park", ("ORGANIZATION", "Charlotte Park")),
    ("She lives in Julia Creek.", "LOCATION", "Julia Creek", ("LOCATION", "Julia Creek")),
    ("I flew in from Austin.", "LOCATION", "Austin", ("LOCATION", "Austin")),
    ("He works at Morgan Bank.", "ORGANIZATION", "Morgan Bank", ("ORGANIZATION", "Morgan Bank")),
    ("Maria Systems shipped it.", "ORGANIZATION", "Maria Systems", ("ORGANIZATION", "Maria Systems")),
    ("She joined Microsoft.", "ORGANIZATION", "Microsoft", ("ORGANIZATION", "Microsoft")),
    ("Amber is a colour.", "ORGANIZATION", "Amber", ("ORGANIZATION", "Amber")),  # a common word
    ("Founders: Platt, David and Ann.", "ORGANIZATION", "Platt, David", ("ORGANIZATION", "Platt, David")),
    ("Paris Hilton", "LOCATION", "Paris Hilton", ("LOCATION", "Paris Hilton")),  # a never-alone word first
    ("Many Americans voted.", "NRP", "Americans", ("NRP", "Americans")),
    ("Supreme Holdings reported.", "ORGANIZATION", "Supreme Holdings", ("ORGANIZATION", "Supreme Holdings")),
    # one word the model calls a company, where only a place fits
    (
        "I'm in GROSSMENGERSDORF, at the conference",
        "ORGANIZATION",
        "GROSSMENGERSDORF",
        ("LOCATION", "GROSSMENGERSDORF"),
    ),
    ("We moved near Woodbridge.", "ORGANIZATION", "Woodbridge", ("LOCATION", "Woodbridge")),
    ("I work in Sales Ops.", "ORGANIZATION", "Sales Ops", ("ORGANIZATION", "Sales Ops")),  # one word only
    ("An offer from Acme.", "ORGANIZATION", "Acme", ("ORGANIZATION", "Acme")),  # "from" fits a company
    # legal forms make a company of any label
    ("Gregory of SANTEN CO.LTD. spoke.", "LOCATION", "CO.LTD", ("ORGANIZATION", "CO.LTD")),
    (
        "Lily Bennett\nNordson Corporation",
        "PERSON",
        "Nordson Corporation",
        ("ORGANIZATION", "Nordson Corporation"),
    ),
    ("Sue D Hague\nCANON INC.", "PERSON", "CANON INC", ("ORGANIZATION", "CANON INC")),
    ("Inca Smith", "PERSON", "Inca Smith", ("PERSON", "Inca Smith")),  # whole words only
    # abbreviations and labels name nothing
    ("Please reply ASAP.", "ORGANIZATION", "ASAP", None),
    ("Attach the PDF and the IBAN.", "ORGANIZATION", "PDF", None),
    ("Send your CV", "ORGANIZATION", "CV", None),
    ("Phone:\n555 0100", "PERSON", "Phone", None),
    ("Personal Info:", "ORGANIZATION", "Personal Info", None),
    (
        "ASAP Rocky",
        "ORGANIZATION",
        "ASAP Rocky",
        ("ORGANIZATION", "ASAP Rocky"),
    ),  # only the whole span counts
]


@pytest.mark.parametrize(("text", "label", "value", "expected"), CASES)
def test_review(text: str, label: str, value: str, expected: tuple[str, str] | None) -> None:
    start = text.index(value)
    kept = REVIEW.review(text, Span(label, start, start + len(value), 0.8, "ner"))
    if expected is None:
        assert kept is None
        return
    assert kept is not None
    assert (kept.entity_type, text[kept.start : kept.end]) == expected
    assert kept.start == start
    assert kept.detector == "ner"


def test_a_relabelled_person_scores_as_a_model_person() -> None:
    text = "Dorothy M Faria"
    kept = REVIEW.review(text, Span("ORGANIZATION", 0, len(text), 0.8, "ner"))
    assert kept == Span("PERSON", 0, len(text), 0.85, "ner")
