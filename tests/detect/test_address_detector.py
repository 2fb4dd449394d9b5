import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from veil.detect.address import AddressDetector

DETECTOR = AddressDetector()


def found(text: str) -> list[str]:
    return [text[span.start : span.end] for span in DETECTOR.find(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # EN: number, name, type; then unit, city, state, ZIP
        ("I live at 221B Baker Street, London NW1 6XE.", ["221B Baker Street, London NW1 6XE"]),
        (
            "1600 Pennsylvania Ave NW, Washington, DC 20500",
            ["1600 Pennsylvania Ave NW, Washington, DC 20500"],
        ),
        (
            "ship to 123 Main St Apt 4B, Springfield, IL 62704-1234 today",
            ["123 Main St Apt 4B, Springfield, IL 62704-1234"],
        ),
        ("10 Downing Street", ["10 Downing Street"]),
        # an address block stops before a phone line: its area code is no postcode
        ("Hauptstrasse 12\nGermany 15039\n09721 88 29 47", ["Hauptstrasse 12\nGermany 15039"]),
        ("Hauptstrasse 12, 97421 Schweinfurt\n09721 88 29 47", ["Hauptstrasse 12, 97421 Schweinfurt"]),
        ("12 Main St\n62704 555 0100", ["12 Main St"]),
        ("1585 Broadway, New York, NY 10036", ["1585 Broadway, New York, NY 10036"]),
        ("send it to 42 oak st please", ["42 oak st"]),
        ("Flat 3, 14 Primrose Hill, London NW3 3AD", ["Flat 3, 14 Primrose Hill, London NW3 3AD"]),
        ("450 5th Avenue Suite 200", ["450 5th Avenue Suite 200"]),
        ("12 Main St., Springfield, But I moved", ["12 Main St., Springfield"]),
        # DE / AT / CH: name-street word, then number; postcode before the city
        ("Hauptstraße 5, 10115 Berlin", ["Hauptstraße 5, 10115 Berlin"]),
        ("Berliner Straße 5a", ["Berliner Straße 5a"]),
        ("wohnt in der Chausseestr. 32", ["Chausseestr. 32"]),
        ("Bahnhofstrasse 12, CH-8001 Zürich", ["Bahnhofstrasse 12, CH-8001 Zürich"]),
        # FR: number, type, name
        ("12 rue de la Paix, 75002 Paris", ["12 rue de la Paix, 75002 Paris"]),
        ("au 8, boulevard Haussmann", ["8, boulevard Haussmann"]),
        # ES: type, name, number; floor and door
        ("Calle Mayor 10, 28013 Madrid", ["Calle Mayor 10, 28013 Madrid"]),
        ("C/ Alcalá 45, 2º izq.", ["C/ Alcalá 45, 2º izq."]),
        ("Avenida de la Constitución 12", ["Avenida de la Constitución 12"]),
        # IT
        ("Via Roma 1, 00184 Roma", ["Via Roma 1, 00184 Roma"]),
        ("Via dei Mille 12", ["Via dei Mille 12"]),
        ("Piazza Navona 3", ["Piazza Navona 3"]),
        # NL: postcode with letters
        ("Keizersgracht 123, 1016 GV Amsterdam", ["Keizersgracht 123, 1016 GV Amsterdam"]),
        # Nordic, Finnish, Hungarian, Polish, Portuguese
        ("Storgatan 12, 111 23 Stockholm", ["Storgatan 12, 111 23 Stockholm"]),
        ("Karl Johans gate 1, 0154 Oslo", ["Karl Johans gate 1, 0154 Oslo"]),
        ("Mannerheimintie 5 A 12, 00100 Helsinki", ["Mannerheimintie 5 A 12, 00100 Helsinki"]),
        ("Kossuth Lajos utca 12", ["Kossuth Lajos utca 12"]),
        ("ul. Długa 5, 00-238 Warszawa", ["ul. Długa 5, 00-238 Warszawa"]),
        (
            "Rua Bela Vista 794\n Apt. 594\n Jacareí\n Brazil",
            ["Rua Bela Vista 794\n Apt. 594\n Jacareí\n Brazil"],
        ),
        # an address block over several lines
        (
            "Ship to:\n8462 Dreimühlenweg 94\n Apt. 090\n SCHMIEDEN\n Austria\nThanks",
            ["8462 Dreimühlenweg 94\n Apt. 090\n SCHMIEDEN\n Austria"],
        ),
        (
            "4022 Oakridge Lane\n Apt. 145\n Dallas\n United States 31174",
            ["4022 Oakridge Lane\n Apt. 145\n Dallas\n United States 31174"],
        ),
        (
            "2439 Wolmarans St Suite 574, Caxias do Sul, Brazil",
            ["2439 Wolmarans St Suite 574, Caxias do Sul, Brazil"],
        ),
        # PO boxes and military mail
        ("P.O. Box 123, Springfield, IL 62704", ["P.O. Box 123, Springfield, IL 62704"]),
        ("PO Box 4567", ["PO Box 4567"]),
        ("Postfach 10 20 30", ["Postfach 10 20 30"]),
        ("Apartado de Correos 12", ["Apartado de Correos 12"]),
        ("PSC 3412, Box 5242\nAPO AA 29282", ["PSC 3412, Box 5242\nAPO AA 29282"]),
        ("USNS Brandt\nFPO AP 29899", ["USNS Brandt\nFPO AP 29899"]),
        # standalone forms
        ("my postcode is SW1A 1AA", ["SW1A 1AA"]),
        ("Springfield, IL 62704", ["Springfield, IL 62704"]),
        ("Ottawa, ON K1A 0B6", ["Ottawa, ON K1A 0B6"]),
        # after an address cue, a street without a known street word
        ("Address: Orrspelsv 49", ["Orrspelsv 49"]),
        # a street with no type word, between a building number and the house number
        (
            "637 Strojírenská 1006\n Suite 026\n Svratka\n Czech Republic 45098",
            ["637 Strojírenská 1006\n Suite 026\n Svratka\n Czech Republic 45098"],
        ),
        (
            "I'd like it sent to 71236 Mühle 77 Suite 160, BODØ, Norway",
            ["71236 Mühle 77 Suite 160, BODØ, Norway"],
        ),
        ("John had given Maja his address: 449 Πεντέλης 210", ["449 Πεντέλης 210"]),
        ("The bus drops you off at 0785 Tala 7342 St.", ["0785 Tala 7342 St."]),
        ("Pedestrians must enter on Odra 60 St. the first months", ["Odra 60 St."]),
        # USPS suffixes; a city after a unit with no comma; a local street before an English one
        ("Send it to 3432 Sara Locks, Springfield", ["3432 Sara Locks, Springfield"]),
        (
            "7015 184 Arnott Heights East Suite 303 Kaiata Greymouth",
            ["7015 184 Arnott Heights East Suite 303 Kaiata Greymouth"],
        ),
        (
            "6232 Avenida Almirante Reis 50 Suite 884 Carregado Portugal",
            ["6232 Avenida Almirante Reis 50 Suite 884 Carregado Portugal"],
        ),
        (
            "Corellistraat 178 Miodrag Islands\n Suite 252\n Amsterdam\n Netherlands 83778",
            ["Corellistraat 178 Miodrag Islands\n Suite 252\n Amsterdam\n Netherlands 83778"],
        ),
        ("Democracia 4098 Reid Radial\n Suite 647", ["Democracia 4098 Reid Radial\n Suite 647"]),
        # intersections, and a name joined to the street
        (
            "my address is the corner of 262 Thisseos Avenue and Semmens Greens for mail",
            ["the corner of 262 Thisseos Avenue and Semmens Greens"],
        ),
        (
            "Meet at the corner of Jalonkatu 34 and Giovanna Walks",
            ["the corner of Jalonkatu 34 and Giovanna Walks"],
        ),
        ("Kerman and 3240 Meadow Drive\nMobile: 1", ["Kerman and 3240 Meadow Drive"]),
        # address blocks: quoted lines, region and postcode lines, a country after a blank line
        (
            "> 46 ul. Siostrzana 48\n> Suite 574\n> Kraków\n> Poland 29102",
            ["46 ul. Siostrzana 48\n> Suite 574\n> Kraków\n> Poland 29102"],
        ),
        (
            "744 15 Millicent Drive Suite 313\nSPRINGDALE HEIGHTS\n, NSW\n 41860",
            ["744 15 Millicent Drive Suite 313\nSPRINGDALE HEIGHTS\n, NSW\n 41860"],
        ),
        (
            "83 Favoritenstrasse 36\n Apt. 367\n KOPPELSTÄTT\n\n Austria 73269",
            ["83 Favoritenstrasse 36\n Apt. 367\n KOPPELSTÄTT\n\n Austria 73269"],
        ),
        ("927 P.O. Box 50\n Apt. 653", ["927 P.O. Box 50\n Apt. 653"]),
        ("USNV Vajda\nFPO AE 57741", ["USNV Vajda\nFPO AE 57741"]),
        # negatives beside the positives
        ("released 2022 Nov 09 and 19 May 2016", []),
        ("in 2010 Google sold 3 million phones", []),
        ("Form 1040 Schedule 3 is due", []),
        ("8   GTK 2", []),
        ("the 5 Great Lakes", []),
        ("In 2019 Silver Springs grew", []),
        ("Windows 11 Pro 23 is out", []),
        ("at the corner of my eye and then", []),
        ("5 ways to cook rice", []),
        ("Route 66 was great", []),
        ("sent via Route 66", []),
        ("version 2 street fighter", []),
        ("at 10:30 Main Street", []),
        ("it was $5 Main Street prices", []),
        ("Chapter 12 Road to Perdition", []),
        ("I waited 20 minutes down the road", []),
        ("a 4 lane road", []),
        ("Top 10 Park Avenue Tips", []),
        ("I have 3 kids", []),
        ("Windows 10 Home", []),
        ("He scored 3 goals on Main Street", []),
        ("the 2nd Brigade", []),
        ("Brigade 5 moved", []),
        ("3 Mile Island", []),
        ("Terminal B gate 5", []),
        ("Based on RFC 959 and PEP 282", []),
        ("order PS5 4GB", []),  # not a UK postcode area
        ("in 2020 Paris hosted", []),
        ("the meeting is at 3 pm on Friday", []),
        ("pay 10115 euros", []),
    ],
)
def test_address(text: str, expected: list[str]) -> None:
    assert found(text) == expected


def test_ordinary_prose_is_quiet() -> None:
    prose = (
        "We met at 9:30 and talked for 2 hours about the 3 new features. The budget is $4,500, "
        "up 12% from last year; version 2.3 ships in 6 weeks. Chapter 4 covers the road map and "
        "section 7 the 5 ways to reduce cost. Call it 20 minutes down the road, or 15 km by bike."
    )
    assert found(prose) == []


def test_scores() -> None:
    (street,) = DETECTOR.find("12 Main Street")
    (postcode,) = DETECTOR.find("SW1A 1AA")
    assert 0 < postcode.score < street.score <= 1
    assert street.entity_type == "STREET_ADDRESS"


def test_trigger_needs_a_digit() -> None:
    assert DETECTOR.trigger is not None
    assert DETECTOR.trigger.search("Baker Street, London") is None
    assert found("Baker Street, London") == []


SAMPLES = [
    "12 Main Street",
    "Hauptstraße 5",
    "PO Box 12",
    "SW1A 1AA",
    "Calle Mayor 10",
    "Springfield, IL 62704",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(SAMPLES), st.text(max_size=12)), max_size=5).map(" ".join))
def test_no_trigger_means_nothing_to_find(text: str) -> None:
    assert DETECTOR.trigger is not None
    if DETECTOR.trigger.search(text) is None:
        assert list(DETECTOR.find(text)) == []


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(SAMPLES), st.text(max_size=12)), max_size=5).map(" ".join))
def test_spans_are_in_bounds_and_ordered(text: str) -> None:
    spans = list(DETECTOR.find(text))
    assert all(0 <= span.start < span.end <= len(text) for span in spans)
    assert all(left.end <= right.start for left, right in itertools.pairwise(spans))
