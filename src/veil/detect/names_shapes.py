"""Person names found by their shape, where no name list knows the given name.

`NameDetector` starts a name only at a listed first name or after a cue or title, so
"Radomir N Horvatinčić" or "Gydo van den Heuvel" slip through when the given name is
rare. Some shapes say "person" without a list:

- a middle initial between two capitalised words, one of them listed, foreign-looking or
  with a surname ending (below): "Virpi V. Hull", "Torben S Kjeldsen", not "Plan B Options";
- a Dutch or German particle between them: "Frits van den Heuvel", "Ida von Arnim";
- a surname ending that English words do not have: -ić, -ović, -dóttir, -sson, -ström,
  -shvili, -opoulos, -enko, -ová, -sen, -son, -ov/-ova, -ev/-eva ("Esat Jeknić",
  "Ellinore Magnusson"); the most telling of them mark a name standing alone too
  ("Mikulić began writing");
- two capitalised words, one with a letter outside ASCII, not after a place preposition:
  "Csenger Gábor", "Royale Moïse". ("in São Paulo" stays a place.)

Candidates are runs of capitalised words on one line, a space apart, less any function
words that open them ("The", "And" at a sentence start). A run longer than four words, or
holding a function word, a title, a field label or an English-looking word ("Library",
"Tracing"), is a heading or a product name and is skipped whole.
Capitalised runs in all capitals are left to `NameDetector`.

Scores sit with the name lists' unsupported guesses (0.6): the model's label wins a tie.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from veil.detect.base import Span
from veil.detect.names import LOWER as _LOWER
from veil.detect.names import UPPER as _UPPER
from veil.detect.names import NameLists, default_name_lists, fold

# A capitalised word with at least one lowercase letter ("McGregor", "O'Neil", "Lom-Ali").
_WORD = rf"[{_UPPER}](?:[{_LOWER}]|[{_UPPER}](?=[{_LOWER}])|['\u2019\-](?=[{_UPPER}{_LOWER}]))*[{_LOWER}]"
_INITIAL = rf"[{_UPPER}]\.?"
_PARTICLE = r"(?:van|von|ter|ten|zu)(?:[ ](?:der|den|de|dem|het))?"
_PART = rf"(?:{_WORD}|{_INITIAL}(?=[ ]{_WORD})|{_PARTICLE}(?=[ ][{_UPPER}]))"
_RUN = re.compile(rf"(?<![\w.\-'\u2019])(?:{_PART})(?:[ ](?:{_PART}))*(?![\w\-'\u2019])")
_IS_INITIAL = re.compile(rf"{_INITIAL}\Z")
_IS_PARTICLE = re.compile(rf"(?:{_PARTICLE})\Z")
# Surname endings that no common English word has: enough on their own.
_TELLING_ENDING = re.compile(
    r"(?:ić|ovic|evic|dóttir|dottir|sson|ström|strom|shvili|adze|opoulos|poulos|akis|enko|auskas|ová|ovich|evich)\Z"
)
# Surname endings that some English words share: enough after a given name.
_LIKELY_ENDING = re.compile(r"(?:sen|son|ov|ova|ev|eva|sky|ski|ska|yan|oglu|stein|mann)\Z")
_ENGLISH_ENDING = re.compile(
    r"(?:ing|tion|sion|ment|ness|ity|ary|ory|ics|ies|able|ible|ful|less|ive|ous|ism|ware|work|works|"
    r"ed|ly|ers|ors|ings|ian|ians)\Z"
)
# English words with a surname's ending.
_ENGLISH_LOOKALIKES = frozenset(
    [
        "person",
        "persons",
        "season",
        "reason",
        "lesson",
        "poison",
        "comparison",
        "treason",
        "unison",
        "venison",
        "bison",
        "crimson",
        "json",
        "chosen",
        "loosen",
        "worsen",
        "lessen",
        "dozen",
        "frozen",
        "citizen",
        "kitchen",
        "christian",
        "russian",
        "asian",
        "canadian",
        "indian",
        "italian",
        "australian",
        "brazilian",
        "custodian",
        "guardian",
        "median",
        "meridian",
        "civilian",
        "librarian",
        "historian",
        "musician",
        "physician",
        "politician",
        "technician",
        "magician",
        "comedian",
        "veteran",
        "ocean",
        "alaska",
        "nebraska",
        "ski",
        "sky",
    ]
)
_PLACE_BEFORE = re.compile(
    r"(?:\b(?:in|at|from|to|near|into|visit|visiting|visited|via)[ ]+)\Z", re.IGNORECASE
)
_MAX_WORDS = 4


class NameShapeDetector:
    """Finds PERSON values by their shape (see the module docstring)."""

    name = "name_shapes"
    entity_type = "PERSON"
    guesses = True
    score = 0.6
    trigger: re.Pattern[str] | None = re.compile(rf"[{_UPPER}]")

    def __init__(self, lists: NameLists | None = None) -> None:
        self.lists = lists if lists is not None else default_name_lists()

    def find(self, text: str) -> Iterator[Span]:
        not_names = self.lists.not_names
        for run in _RUN.finditer(text):
            start, parts = run.start(), run.group().split(" ")
            # A capitalised function word opening a sentence is not part of the run:
            # "The Zarita Akhtakhanov version", "And Esat Jeknić said".
            while len(parts) > 1 and fold(parts[0]) in not_names:
                start += len(parts[0]) + 1
                parts = parts[1:]
            if self._is_name(text, start, parts):
                yield Span(self.entity_type, start, run.end(), self.score, self.name)

    def _is_name(self, text: str, start: int, parts: list[str]) -> bool:
        words = [p for p in parts if not (_IS_INITIAL.match(p) or _IS_PARTICLE.match(p))]
        if (
            not words
            or len(words) > _MAX_WORDS
            or _IS_INITIAL.match(parts[0])
            or _IS_PARTICLE.match(parts[0])
        ):
            return False
        keys = [fold(word) for word in words]
        if any(not self._name_like(key) for key in keys):
            return False
        last = words[-1].lower()
        if len(words) == 1:
            return len(last) >= 5 and bool(_TELLING_ENDING.search(last))
        ending = bool(_TELLING_ENDING.search(last) or (len(last) >= 5 and _LIKELY_ENDING.search(last)))
        foreign = any(not word.isascii() for word in words)
        if any(_IS_PARTICLE.match(part) for part in parts):
            return True
        if len(parts) > len(words):
            # an initial between capitalised words, and something else name-like ("Plan B Options" is not)
            return (
                ending
                or foreign
                or any(k in self.lists.first_names or k in self.lists.surnames for k in keys)
            )
        if ending:
            return True
        return foreign and len(words) == 2 and not _PLACE_BEFORE.search(text, max(0, start - 12), start)

    def _name_like(self, key: str) -> bool:
        lists = self.lists
        return (
            len(key) >= 2
            and key not in lists.not_names
            and key not in lists.never_alone
            and key not in _ENGLISH_LOOKALIKES
            and (key in lists.first_names or key in lists.surnames or not _ENGLISH_ENDING.search(key))
        )
