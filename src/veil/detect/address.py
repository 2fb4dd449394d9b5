"""Street addresses: house number, street name and street type, then unit, city and postcode.

NER never covers a whole address (the house number and postcode slip through), so this
rule layer finds the street itself and then follows the address as far as it goes, to
keep the span one piece from the house number to the postcode.

The street, by how each language writes it:
- number first, type last (EN): "221B Baker Street", "1600 Pennsylvania Ave NW",
  "42 oak st" (lowercase only with a common type word and no function words in the name);
- number, then type, then name (FR, and ES/IT/PT when written so): "12 rue de la Paix",
  "12, rue des Lilas", "8 bis avenue Foch";
- type, name, then number (ES, IT, PT, PL, RO, BE/CH French): "Calle Mayor 10",
  "C/ Alcalá 45", "Via dei Mille 12", "Rua Bela Vista 794", "ul. Długa 5";
- name ending in a street word, then number (DE, NL, Nordic, FI, HU...): "Hauptstraße 5",
  "Keizersgracht 123", "Berliner Straße 5a", "Kossuth Lajos utca 12", "Ørbækvej 96";
- a building number, a name with no type word, the house number ("637 Strojírenská 1006"),
  only where the address plainly stops or goes on (line end, punctuation, a unit);
- an English street with any USPS suffix ("Sara Locks"; the rarer ones need a 2+ digit,
  non-year number), joined to a local street before it ("Corellistraat 178 Miodrag Islands");
- an intersection: "the corner of 262 Thisseos Avenue and Semmens Greens";
- after an address cue ("address:", "I live at", "ship to") any "Name 12" or "12 Name".
PO boxes are streets too: "P.O. Box 123", "PO Box 123", "Postfach 10 20 30", "Apartado de
Correos 12", "Postbus 123", military "PSC 3412, Box 5242" and "APO AE 09012".

What follows a street is taken while it reads as part of the address, on the same line,
after a comma, or on the next lines of an address block: units ("Apt 4B", "Suite 200",
"Flat 3", "2º izq."), a US "City, ST 12345[-6789]", a European "10115 Berlin" / "1016 GV
Amsterdam" / "75001 Paris", a UK "London SW1A 1AA", a Canadian "Ottawa, ON K1A 0B6", a city
after a comma, a country name.

Standalone, without a street (decided deliberately, because each is an address on its own
and precise enough): a UK postcode with a known area ("SW1A 1AA"), a Canadian postcode
("K1A 0B6") and a US "Springfield, IL 62704". A bare 5-digit number or "10115 Berlin" alone
is not taken: years, counts and prices look the same.

Refused: a number glued to a price, time, decimal or version ("$5", "10:30", "v2"), a
street type with no name before it ("Chapter 12 Road to..."), a number after a word that
makes it a count or an index ("Top 10 Park Avenue Tips", "Route 66"), lowercase names with
function words in them ("2 blocks down the road").

Scores: 0.85 for a street with a house number (and whatever follows it); 0.7 for a
standalone postcode form or a street found only through an address cue.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from veil.detect.address_locality import (
    AFTER_UNIT,
    BOX_WORDS,
    CA_HINT,
    LOCALITY,
    MILITARY,
    PO_BOX,
    STAIRCASE,
    STANDALONE_CA,
    STANDALONE_UK,
    STANDALONE_US,
    UK_AREAS,
    UK_HINT,
    UNIT,
    US_HINT,
    locality_refused,
    uk_area,
)
from veil.detect.address_words import (
    APART_TYPES,
    APOSTROPHES,
    CALENDAR_WORDS,
    CAP_WORD,
    EN_LOWER_OK_WORDS,
    EN_TYPES,
    FUNCTION_WORD_LIST,
    LEAD_TYPES_ANY_CASE,
    LEAD_TYPES_CAPITALISED,
    LOWER,
    LOWER_STREET_WORDS,
    NOT_HOUSE_WORDS,
    SUFFIXES,
    UPPER,
    USPS_TYPES,
)
from veil.detect.base import Span

_ANY_WORD = rf"[{UPPER}{LOWER}][\w{APOSTROPHES}\-]*"
_ORDINAL = r"[0-9]{1,3}(?:st|nd|rd|th|e|er|ème|º|ª)"
_NAME_WORD = rf"(?:{_ANY_WORD}|{_ORDINAL})"
_PARTICLE = (
    r"(?:de|del|de la|de las|de los|la|las|los|le|les|du|des|d['\u2019]|l['\u2019]|dei|degli|della|delle|"
    r"di|da|das|do|dos|e|y|van|von|der|den|het|ter|ten|of|the|on|upon|al|el|san|santa|são|st\.|ste\.)"
)

# A house number: 1-5 digits, a letter ("221B"), a range or a slash ("12-14", "5/2").
_NUMBER = re.compile(
    r"[0-9](?<![\w.$€£/:\-][0-9])(?<![0-9],[0-9])[0-9]{0,4}"
    r"(?:[a-zA-Z](?![\w]))?(?:[ \t]?[\-/][ \t]?[0-9]{1,5}[a-zA-Z]?(?![\w]))?"
    r"(?![0-9]|[.,:][0-9]|%|[ \t]?(?:%|€|\$|£|am\b|pm\b|AM\b|PM\b))"
)
_SEP_BEFORE_NUMBER = r"[ \t]*,?[ \t]*(?:(?:n[º°o]?\.?|nr\.?|no\.|núm\.?|num\.?|#)[ \t]*)?"

_EN_LOWER_OK = frozenset(EN_LOWER_OK_WORDS.split())
_DIRECTION = r"(?:N|S|E|W|NE|NW|SE|SW|North|South|East|West)\.?"
_EN_STREET = re.compile(
    rf"(?P<num>{_NUMBER.pattern})[ \t]+(?:{_DIRECTION}[ \t]+)?"
    rf"(?P<name>(?:{_NAME_WORD}[ \t]+){{0,3}}{_NAME_WORD})[ \t]+"
    rf"(?P<type>(?i:{EN_TYPES}|{USPS_TYPES}))(?!\w)\.?"
    rf"(?:[ \t]+(?:N|S|E|W|NE|NW|SE|SW|North|South|East|West)(?!\w)\.?)?"
)
_RARE_TYPES = frozenset(USPS_TYPES.lower().split("|"))
_NUMBER_NAME_NUMBER = re.compile(
    rf"(?P<num>{_NUMBER.pattern})[ \t]+(?P<name>{CAP_WORD}(?:[ \t]+(?:{CAP_WORD}\.?|(?:{LOWER_STREET_WORDS})"
    rf"(?![\w])|(?:de|del|da|do|dos|das|di|van|von|der|den|y|e|la|le)(?=[ \t]+[{UPPER}]))){{0,3}})"
    rf"[ \t]+(?P<house>[0-9]{{1,5}}[a-zA-Z]?)(?![\w]|[.,:/\-][0-9])\.?"
    rf"(?:[ \t]+(?:St|Street|street|Ave|Rd)(?![\w])\.?)?"
    rf"(?=[ \t]*(?:\Z|[\r\n,;:!?)\"']|\.(?:[ \t]|\Z)|(?i:apt|suite|unit|flat|ste)(?![\w])"
    rf"|[{UPPER}][{UPPER}]))"
)
# A street named, then its number, then "St."/"street": "Odra 60 St.", "Canelones 2891 street".
_NAME_NUMBER_TYPE_AFTER = re.compile(r"[ \t]+(?:St\.|Street|street)(?![\w])")
_NAME_BEFORE = re.compile(rf"(?<![\w])(?:{CAP_WORD}[ \t]+){{0,3}}{CAP_WORD}[ \t]+\Z")
# An intersection: "the corner of 262 Thisseos Avenue and Semmens Greens".
_CORNER = re.compile(
    rf"(?<![\w])(?:[Tt]he[ \t]+)?[Cc]orner[ \t]+of[ \t]+[0-9{UPPER}][^\r\n,;!?]{{1,80}}?[ \t]+(?:and|&)[ \t]+"
    rf"(?:[0-9]{{1,5}}[ \t]+)?(?:{CAP_WORD}\.?[ \t]+){{0,3}}{CAP_WORD}(?:[ \t]+[0-9]{{1,5}}(?![\w]))?"
    rf"(?:[ \t]+(?:St|Ave|Rd)\.)?"
)
# Someone's name or a second street joined to the address: "Kerman and 3240 Meadow Drive".
_CAPITALISED_BEFORE = re.compile(rf"(?<![\w.])(?:(?i:ul|al|os)\.[ \t]+)?(?:{CAP_WORD}\.?[ \t]+){{1,3}}\Z")
_AND_BEFORE = re.compile(rf"(?<![\w])(?P<word>{CAP_WORD})[ \t]+(?:and|&)[ \t]+\Z")
_BROADWAY = re.compile(rf"(?P<num>{_NUMBER.pattern})[ \t]+Broadway(?!\w)")

_LEAD_TYPE = rf"(?:(?i:{LEAD_TYPES_ANY_CASE.rstrip('|')})|{LEAD_TYPES_CAPITALISED})"
_LEAD_NAME = rf"(?:(?:{_PARTICLE}|{_NAME_WORD})[ \t]+){{0,5}}{_NAME_WORD}"
_NUMBER_THEN_LEAD_TYPE = re.compile(
    rf"(?P<num>{_NUMBER.pattern}),?[ \t]+(?:(?i:bis|ter|quater)[ \t]+)?"
    rf"(?P<type>{_LEAD_TYPE})[ \t]*(?P<name>{_LEAD_NAME})"
)
_LEAD_TYPE_THEN_NUMBER = re.compile(
    rf"(?<![\w])(?P<type>{_LEAD_TYPE})[ \t]*(?P<name>{_LEAD_NAME}){_SEP_BEFORE_NUMBER}\Z"
)

_SUFFIX_STREET_THEN_NUMBER = re.compile(
    rf"(?<![\w{APOSTROPHES}\-])(?P<name>(?:{CAP_WORD}[ \t]+){{0,3}}"
    rf"(?:[{UPPER}{LOWER}][\w{APOSTROPHES}\-]*?(?i:{SUFFIXES})|(?:{CAP_WORD}[ \t]+)(?i:{APART_TYPES})"
    rf"|[{UPPER}][\w{APOSTROPHES}\-]*s[ \t]+gate))"
    rf"{_SEP_BEFORE_NUMBER}\Z"
)
_LEAD_WORDS = frozenset(
    word.replace("\\", "").rstrip("?").rstrip(".").lower()
    for word in f"{LEAD_TYPES_ANY_CASE}|{LEAD_TYPES_CAPITALISED}".split("|")
    if word and "(" not in word
)
_SUFFIX_ENDINGS = tuple(
    word.replace("\\", "").rstrip("?").rstrip(".") for word in f"{SUFFIXES}|{APART_TYPES}|gate".split("|")
)
_WORD = re.compile(r"[^\W_]\S*")
_NOT_STREETS = frozenset({"brigade", "renegade", "weg", "tie", "kade", "markt", "platz"})

# After an address cue, any "Name 12" / "12 Name" shape.
_ADDRESS_CUE = (
    r"(?i:address|addr\.?|adresse|dirección|direccion|domicilio|indirizzo|anschrift|adres|endereço|"
    r"(?:live|lives|living|reside|resides)[ \t]+(?:at|on|in)|(?:located|based)[ \t]+at|"
    r"(?:ship|deliver|send[ \t]+it|mail[ \t]+it)[ \t]+to)"
)
_CUED_NAME_THEN_NUMBER = re.compile(
    rf"{_ADDRESS_CUE}(?:[ \t]+is)?[ \t]*:?[ \t]*"
    rf"(?P<name>(?:{CAP_WORD}[ \t]+(?:(?:and|&)[ \t]+)?){{0,3}}{CAP_WORD})"
    rf"{_SEP_BEFORE_NUMBER}\Z"
)
# Where an address cue could start, checked on a lowercased window before the full pattern.
_CUE_HINT = re.compile(
    "addr|adres|direcc|domicil|indirizzo|anschrift|endere|live|living|resid|located|based|ship|deliver|send|mail"
)
_CUE_BEFORE = re.compile(rf"{_ADDRESS_CUE}(?:[ \t]+is)?[ \t]*:?[ \t]*\Z")
_CUED_NUMBER_THEN_NAME = re.compile(
    rf"(?P<num>{_NUMBER.pattern})[ \t]+(?P<name>(?:{CAP_WORD}[ \t]+){{0,2}}{CAP_WORD})"
)


_MAX_CONTINUATIONS = 8
_LEAD_IN = re.compile(
    rf"(?<![\w])(?:(?P<unit>(?i:flat|apt|apartment|suite|ste|unit)\.?[ \t]*[0-9][\w\-]{{0,4}},?)"
    rf"|{_NUMBER.pattern})[ \t]+\Z"
)


_NOT_HOUSE_AFTER = frozenset(NOT_HOUSE_WORDS.split())
_CALENDAR = frozenset(CALENDAR_WORDS.split())
_FUNCTION_WORDS = frozenset(FUNCTION_WORD_LIST.split())
_UNIT_WORDS = frozenset(
    {"apt", "apartment", "suite", "ste", "unit", "flat", "floor", "room", "bldg", "building"}
)


class AddressDetector:
    """Finds STREET_ADDRESS values (see the module docstring)."""

    name = "address"
    entity_type = "STREET_ADDRESS"
    # Every address has a digit: a house number, a box number or a postcode.
    trigger: re.Pattern[str] | None = re.compile(r"[0-9]")
    street_score = 0.85
    weak_score = 0.7

    def find(self, text: str) -> Iterator[Span]:
        found: list[tuple[int, int, float]] = []
        for number in _NUMBER.finditer(text):
            street = self._street_at(text, number)
            if street is not None:
                start, end, score = street
                found.append((start, self._continue(text, end), score))
        # The whole-text patterns are slow to scan, so each runs only after a cheap check.
        lowered = text.lower()
        if any(word in lowered for word in BOX_WORDS):
            for box in PO_BOX.finditer(text):
                lead = _LEAD_IN.search(text, max(0, box.start() - 24), box.start())
                start = box.start() if lead is None else lead.start()
                found.append((start, self._continue(text, box.end()), self.street_score))
        if "corner of" in lowered:
            for corner in _CORNER.finditer(text):
                found.append((corner.start(), self._continue(text, corner.end()), self.street_score))
        if "PO " in text:
            for military in MILITARY.finditer(text):
                found.append((military.start(), military.end(), self.street_score))
        for hint, pattern in ((US_HINT, STANDALONE_US), (CA_HINT, STANDALONE_CA)):
            if hint.search(text):
                for match in pattern.finditer(text):
                    found.append((match.start(), match.end(), self.weak_score))
        if UK_HINT.search(text):
            for match in STANDALONE_UK.finditer(text):
                if uk_area(match.group()) in UK_AREAS and " " in match.group():
                    found.append((match.start(), match.end(), self.weak_score))
        yield from self._spans(found)

    def _spans(self, found: list[tuple[int, int, float]]) -> Iterator[Span]:
        """The longest of overlapping findings, in order."""
        found.sort(key=lambda item: (item[0], item[0] - item[1]))
        end = -1
        for start, stop, score in found:
            if start >= end:
                end = stop
                yield Span(self.entity_type, start, stop, score, self.name)

    def _street_at(self, text: str, number: re.Match[str]) -> tuple[int, int, float] | None:
        """The street that this number belongs to, as (start, end, score)."""
        start = number.start()
        if _word_before(text, start).lower().rstrip(".") in _NOT_HOUSE_AFTER:
            forward = None
        else:
            forward = self._number_first(text, start)
        backward = self._number_last(text, number)
        candidates = [street for street in (forward, backward) if street is not None]
        if not candidates:
            return self._cued(text, number)
        # Both readings can hold at once: "Corellistraat 178 Miodrag Islands" is a street
        # and its number, then a number and a street; the address is the two together.
        start, end = min(street[0] for street in candidates), max(street[1] for street in candidates)
        if backward is None and forward is not None and _EN_STREET.match(text, forward[0]):
            start = _capitalised_lead(text, start)
        # What stands right before the street joins it: a unit ("Flat 3, 14 Primrose Hill") or
        # another number ("75346 Ørbækvej 96", "40187 263 Xanthoudidou Street": a building
        # number, a phone number run into it; either way it goes with the address).
        lead = _LEAD_IN.search(text, max(0, start - 24), start)
        if lead is not None:
            start = lead.start()
        pair = _AND_BEFORE.search(text, max(0, start - 40), start)
        if pair is not None and pair.group("word").lower() not in _FUNCTION_WORDS:
            start = pair.start()
        return start, end, self.street_score

    def _number_first(self, text: str, start: int) -> tuple[int, int] | None:
        for pattern in (_EN_STREET, _BROADWAY, _NUMBER_THEN_LEAD_TYPE):
            match = pattern.match(text, start)
            if match is None:
                continue
            if pattern is _EN_STREET and not _english_street_ok(match):
                continue
            end = match.end()
            if pattern is _NUMBER_THEN_LEAD_TYPE:
                end = match.start("name") + _trim_name(match.group("name"))
                if end <= match.start("name"):
                    continue
            return start, end
        plain = _NUMBER_NAME_NUMBER.match(text, start)
        if plain is not None and _plain_street_ok(plain):
            return start, plain.end()
        return None

    def _number_last(self, text: str, number: re.Match[str]) -> tuple[int, int] | None:
        start = number.start()
        if not _could_follow_street(text, start):
            return None
        # The last few words decide which pattern could apply and where it must start, so
        # each runs anchored (`match`) instead of scanning the window.
        words = list(_WORD.finditer(text, max(0, start - 90), start))[-7:]
        keys = [word.group().lower().rstrip(".,") for word in words]
        for word, key in zip(words, keys, strict=True):
            if key in _LEAD_WORDS or key.startswith("c/"):
                lead = _LEAD_TYPE_THEN_NUMBER.match(text, word.start(), start)
                if lead is not None and _lead_street_ok(lead):
                    return lead.start(), number.end()
        if _NAME_NUMBER_TYPE_AFTER.match(text, number.end()):
            named = _NAME_BEFORE.search(text, max(0, start - 60), start)
            if named is not None:
                names = named.group().split()
                while names and names[0].lower() in _FUNCTION_WORDS:
                    names.pop(0)
                if names and names[-1].lower() not in _NOT_HOUSE_AFTER:
                    type_after = _NAME_NUMBER_TYPE_AFTER.match(text, number.end())
                    assert type_after is not None
                    return text.rindex(names[0], named.start(), start), type_after.end()
        if not any(key.endswith(_SUFFIX_ENDINGS) for key in keys[-2:]):
            return None
        for word in words[-5:]:
            glued = _SUFFIX_STREET_THEN_NUMBER.match(text, word.start(), start)
            if glued is not None and _suffix_street_ok(glued.group("name")):
                return glued.start(), number.end()
        return None

    def _cued(self, text: str, number: re.Match[str]) -> tuple[int, int, float] | None:
        """A street found only because an address cue comes right before it."""
        start = number.start()
        window_start = max(0, start - 90)
        hint = _CUE_HINT.search(text[window_start:start].lower())
        if hint is None:
            return None
        cue_at = hint.start()
        if _could_follow_street(text, start):
            match = _CUED_NAME_THEN_NUMBER.search(text, window_start + cue_at, start)
            if match is not None and match.group("name").lower() not in _FUNCTION_WORDS:
                return match.start("name"), number.end(), self.weak_score
        if _CUE_BEFORE.search(text, max(window_start + cue_at, start - 40), start):
            match = _CUED_NUMBER_THEN_NAME.match(text, start)
            if match is not None:
                return start, match.end(), self.weak_score
        return None

    def _continue(self, text: str, end: int) -> int:
        """Where the address that has reached `end` stops: units, city, postcode, country."""
        for _ in range(_MAX_CONTINUATIONS):
            unit = UNIT.match(text, end)
            if unit is None and text[end - 1].isdigit():
                unit = STAIRCASE.match(text, end)
            if unit is not None:
                end = unit.end()
                tail = AFTER_UNIT.match(text, end)
                first = tail.group("city").split()[0].lower().rstrip(".") if tail is not None else ""
                if tail is not None and first not in _FUNCTION_WORDS and first not in _UNIT_WORDS:
                    end = tail.end()
                continue
            locality = LOCALITY.match(text, end)
            if locality is None or locality_refused(locality):
                break
            end = locality.end()
        return end


def _english_street_ok(match: re.Match[str]) -> bool:
    """Capitalised names are fine; lowercase ones need a common type word and no function words."""
    words = match.group("name").split()
    street_type = match.group("type")
    if any(word.lower() in _FUNCTION_WORDS for word in words):
        return False
    if street_type.lower() in _RARE_TYPES:
        # "5 Great Lakes", "in 2019 Silver Springs": ordinary nouns unless the number says house.
        digits = re.match(r"[0-9]+", match.group("num"))
        assert digits is not None
        if len(digits.group()) < 2 or (len(digits.group()) == 4 and 1800 <= int(digits.group()) <= 2099):
            return False
    if all(word[0].isupper() or word[0].isdigit() for word in words):
        return street_type[0].isupper() or street_type.lower() in _EN_LOWER_OK
    type_words = {word.lower() for word in EN_TYPES.split("|")}
    return street_type.lower() in _EN_LOWER_OK and not any(word.lower() in type_words for word in words)


def _plain_street_ok(match: re.Match[str]) -> bool:
    """A street without a type word: no function words, no index word ("Form 1040 Schedule 3")."""
    names = match.group("name").split()
    if len(names) == 1 and names[0].isupper() and len(names[0]) <= 4:
        return False  # "GTK 2", "ISO 9001": a product or a standard
    words = [word.rstrip(".").lower() for word in names]
    return not any(word in _FUNCTION_WORDS or word in _NOT_HOUSE_AFTER or word in _CALENDAR for word in words)


def _lead_street_ok(match: re.Match[str]) -> bool:
    street_type = match.group("type")
    words = [word for word in match.group("name").split() if not re.fullmatch(_PARTICLE, word.lower())]
    if not words or words[0].lower() in _FUNCTION_WORDS:
        return False
    return street_type[0].isupper() or all(word[0].islower() for word in words) or words[0][0].isupper()


def _suffix_street_ok(name: str) -> bool:
    words = name.split()
    last = words[-1].lower().rstrip(".")
    if last in _NOT_STREETS and len(words) == 1:
        return False
    if len(words) == 1:
        return len(last) >= 6 or (last[:1].isalpha() and name[0].isupper() and len(last) >= 5)
    return True


def _trim_name(name: str) -> int:
    """Length of the street name once trailing particles and lowercase non-name words are cut."""
    words = name.split(" ")
    while words and (
        re.fullmatch(_PARTICLE, words[-1].lower())
        or words[-1].lower() in _FUNCTION_WORDS
        or words[-1].lower().rstrip(".") in _UNIT_WORDS
    ):
        words.pop()
    return len(" ".join(words))


def _could_follow_street(text: str, start: int) -> bool:
    """Cheap test before a backward search: a letter or a dot/º must come shortly before."""
    index = start - 1
    while index >= 0 and text[index] in " \t,#":
        index -= 1
    return index >= 0 and (text[index].isalpha() or text[index] in ".º°/")


def _capitalised_lead(text: str, start: int) -> int:
    """Where capitalised words right before an English street start: "Democracia 4098 Reid
    Radial", "ul. Nad Jarem 22 Petheö Canyon" (a local street and a second one)."""
    lead = _CAPITALISED_BEFORE.search(text, max(0, start - 60), start)
    if lead is None:
        return start
    words = lead.group().split()
    while words and (words[0].lower().rstrip(".") in _FUNCTION_WORDS or words[0].endswith(":")):
        words.pop(0)
    if not words or words[-1].lower().rstrip(".") in _NOT_HOUSE_AFTER:
        return start
    return text.rindex(words[0], lead.start(), start)


def _word_before(text: str, start: int) -> str:
    head = text[max(0, start - 24) : start].rstrip(" \t#")
    parts = head.rsplit(None, 1)
    return parts[-1] if parts else ""
