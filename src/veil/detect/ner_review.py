"""A second opinion on the NER model's labels, from the name lists.

The small English model often reads a person as an organisation or a place ("Dorothy M
Faria" as ORG, "Hi Keiran" and "said Ernest to Julia" as GPE), most of all when a name is
foreign, stands alone or opens a sentence. It also tags everyday abbreviations ("ASAP",
"PDF") as organisations and field labels ("Phone", "Personal Info") as people. Each costs
precision, and a person replaced with an ORGANIZATION token misleads the model upstream.

`NerReview.review` looks at one cleaned-up span and returns what to keep:

- A span made only of function words and field labels (the name lists' `not_names`) is
  dropped.
- An ORGANIZATION that is a common abbreviation (`data/common_abbreviations.txt`) is
  dropped.
- A span holding a company's legal form ("CO.LTD", "Illumina Inc", "Nordson Corporation")
  is an ORGANIZATION, whatever the model labelled it (PERSON included).
- An ORGANIZATION, LOCATION or NRP span that reads as a person's name becomes a PERSON.
  Two or more words read as a name when the first is a listed given name, or when at least
  two of them are listed names; every word counts only if it could be part of a name
  (capitalised, not a function word, not an organisation or street word such as "Bank",
  "Systems" or "Street", not an English-looking word such as "Holdings"), and initials and
  particles ("M.", "van der") may come between. When such a name opens a longer span
  ("Nicklas A Olsen fan"), the name is kept and the rest dropped. A single word reads as a
  name when it is a listed given name that is not also a common word or place ("Amber",
  "Paris"). Nothing after a place preposition is relabelled: "in Sofia", "at Julia Creek"
  stay what the model said. ("to" is no such preposition: "said Ernest to Julia", "send it
  to Maria"; so "moved to Sofia" gives a PERSON, still replaced.)
- An ORGANIZATION, LOCATION or NRP of up to three words that only a person fits is a
  PERSON, listed or not: right after a greeting, a speech verb or a person's name phrase
  ("Hi Keiran", "thanks Pista", "said Leonti", "calls me Calan", "her maiden name is
  Tougas") or before a possessive of something only people have ("Marina's address",
  "Hijacinta's kid"). The model reads an unknown foreign name as a place or a company
  most of all there.
- A one-word ORGANIZATION right after "in", "into" or "near" is a LOCATION: "I'm in
  GROSSMENGERSDORF", "near Woodbridge". The model reads an unknown town as a company, and
  as a group (NRP) after any place preposition when the word does not end like a
  nationality or a language ("from CAIRNESS", "in Szerencs"; not "in Greek").

Everything else is returned unchanged.
"""

from __future__ import annotations

import re
from functools import cache

from veil.detect.base import Span
from veil.detect.names import NameLists, default_name_lists, fold
from veil.detect.wordlist import data_words

# Legal forms: a span holding one names a company, whatever label the model gave it.
_LEGAL_FORMS = frozenset(("inc", "ltd", "llc", "llp", "plc", "corp", "corporation", "gmbh", "limited"))
_PARTICLES = frozenset(
    {"van", "von", "de", "der", "den", "del", "della", "di", "da", "das", "do", "dos", "du", "la", "le"}
    | {"ten", "ter", "zu", "bin", "ibn", "al", "el", "ben", "af", "av", "y"}
)
_RELABELLED = frozenset({"ORGANIZATION", "LOCATION", "NRP"})
_WORD = re.compile(r"[^\W\d_]+")
_INITIAL = re.compile(r"[A-Z]\.?\Z")
_NAME_WORD = re.compile(r"[^\W\d_]+(?:['\u2019\-][^\W\d_]+)*\Z")
# Unlisted words with these endings are English words, not surnames ("Supplies", "Therapeutics").
_ENGLISH_ENDING = re.compile(
    r"(?:ing|tion|sion|ment|ness|ity|ary|ory|ics|ies|able|ible|ful|less|ive|ous|ism|ware|works|ings)\Z"
)
_PLACE_BEFORE = re.compile(
    r"\b(?:in|at|from|near|into|across|around|visit|visiting|visited|via)[ \t]+\Z", re.IGNORECASE
)
# Where only a person fits: after a greeting, thanks or a speech verb, or before "'s" and
# something only people have.
_PERSON_BEFORE = re.compile(
    r"\b(?:hi|hello|hey|dear|thanks|thank[ \t]+you|said|asked|told|tell|ask|calls?[ \t]+me|named"
    r"|(?:my|his|her|your|their|maiden|last|first|full|given|family)[ \t]+name(?:[ \t]+is|['\u2019]s|:))"
    r"[ \t,]*\Z",
    re.IGNORECASE,
)
_PERSON_AFTER = re.compile(
    r"['\u2019]s[ \t]+(?:address|email|phone|number|birthday|account|wife|husband|partner|mother|father|mom"
    r"|mum|dad|son|daughter|kids?|children|brother|sister|friend|boss|family)\b",
    re.IGNORECASE,
)
# Before one word, only a place fits: "in Tesla" is rarer than "in Woodbridge".
_ONLY_PLACE_BEFORE = re.compile(r"\b(?:in|into|near)[ \t]+\Z", re.IGNORECASE)
# Nationalities and languages end so ("Norwegian", "Chinese", "Danish", "Icelandic", "Iraqi",
# "Dutch", "Greek", "Swiss"); an unknown town the model calls a group does not.
_NATIONALITY_ENDING = re.compile(r"(?:an|ese|ish|ic|i|ch|eek|ss|er)\Z", re.IGNORECASE)


@cache
def common_abbreviations() -> frozenset[str]:
    """The shipped abbreviations that name no organisation, loaded once per process."""
    return frozenset(data_words("common_abbreviations.txt"))


class NerReview:
    """Checks NER spans against the name lists (see the module docstring)."""

    def __init__(
        self,
        lists: NameLists | None = None,
        *,
        abbreviations: frozenset[str] | None = None,
        person_score: float = 0.85,
        organization_score: float = 0.8,
    ) -> None:
        self.lists = lists if lists is not None else default_name_lists()
        self.abbreviations = abbreviations if abbreviations is not None else common_abbreviations()
        self.person_score = person_score
        self.organization_score = organization_score

    def review(self, text: str, span: Span) -> Span | None:
        """The span to keep in place of `span` (relabelled or shortened), or None to drop it."""
        value = text[span.start : span.end]
        words = [fold(word) for word in _WORD.findall(value)]
        legal = any(word in _LEGAL_FORMS for word in words)
        if not legal and all(word in self.lists.not_names for word in words):
            return None
        if legal:
            return Span("ORGANIZATION", span.start, span.end, self.organization_score, span.detector)
        if span.entity_type not in _RELABELLED:
            return span
        if span.entity_type == "ORGANIZATION" and fold(value) in self.abbreviations:
            return None
        end = self._name_end(text, span)
        if end is not None:
            return Span("PERSON", span.start, end, self.person_score, span.detector)
        if self._person_fits(text, span):
            return Span("PERSON", span.start, span.end, self.person_score, span.detector)
        if len(words) == 1 and self._only_a_place_fits(text, span, value):
            return Span("LOCATION", span.start, span.end, span.score, span.detector)
        return span

    def _only_a_place_fits(self, text: str, span: Span, value: str) -> bool:
        """A one-word company after "in", "into" or "near", or a one-word group after a place
        preposition that does not read as a nationality ("from CAIRNESS", "in Szerencs")."""
        if span.entity_type == "ORGANIZATION":
            return _ONLY_PLACE_BEFORE.search(text, max(0, span.start - 8), span.start) is not None
        return (
            span.entity_type == "NRP"
            and not (value.islower() or (_NATIONALITY_ENDING.search(value) and not value.isupper()))
            and _PLACE_BEFORE.search(text, max(0, span.start - 12), span.start) is not None
        )

    def _person_fits(self, text: str, span: Span) -> bool:
        """Whether the span is one to three name-like words where only a person fits."""
        parts = text[span.start : span.end].split()
        if len(parts) > 3 or not all(
            fold(part) in _PARTICLES or _INITIAL.match(part) or self._name_like(part, fold(part))
            for part in parts
        ):
            return False
        before = _PERSON_BEFORE.search(text, max(0, span.start - 24), span.start)
        return before is not None or _PERSON_AFTER.match(text, span.end) is not None

    def _name_end(self, text: str, span: Span) -> int | None:
        """Where the person's name that opens the span ends, or None if it does not open with one."""
        lists = self.lists
        words = list(re.finditer(r"\S+", text[span.start : span.end]))
        first = words[0].group()
        key = fold(first)
        if not self._name_like(first, key) or key in lists.never_alone:
            return None
        if _PLACE_BEFORE.search(text, max(0, span.start - 12), span.start):
            return None
        given = lists.is_first(key)
        if len(words) == 1:
            return span.end if given and key not in lists.common_words else None
        if first.endswith(","):
            return None  # "Platt, David": a list, not one name
        names, listed = 1, int(given or lists.is_surname(key))
        end = span.start + words[0].end()
        for word in words[1:]:
            part = word.group()
            part_key = fold(part)
            if part_key in _PARTICLES or _INITIAL.match(part):
                continue
            if not self._name_like(part, part_key):
                break
            names += 1
            listed += lists.is_surname(part_key) or lists.is_first(part_key)
            end = span.start + word.end()
        if names < 2 or not (given or listed >= 2):
            return None
        return end

    def _name_like(self, word: str, key: str) -> bool:
        """Whether a word could be part of a name: capitalised, not a label or an English word."""
        lists = self.lists
        if not word[:1].isupper() or not _NAME_WORD.match(word) or key in lists.not_names:
            return False
        return lists.is_surname(key) or lists.is_first(key) or not _ENGLISH_ENDING.search(key)
