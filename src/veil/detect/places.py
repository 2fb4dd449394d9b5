"""Places found by rules: country names, and the town line of a postal address.

The NER model misses many places that carry no context, most of all a country on its own
line at the end of an address ("La Sagne\\nSwitzerland") and towns written in capitals
("PARIS\\nFrance"). Two rules:

- A country or territory from `data/countries.txt` (hand-written English names), in Title
  Case or all capitals, as whole words: "Czech Republic", "NEW ZEALAND". Lowercase is left
  out: "turkey", "china" and "chile" are words first.
- The line right before a country line, when it holds only one to four capitalised words
  (Title Case or capitals): the town of an address block ("Zafferana Etnea\\nItaly").

Scores: 0.7 for a country (a list match the model's reading wins a tie over); 0.88 for a
town line, above the model's PERSON (0.85): a lone capitalised line right above a country
is read as a person's name by the model ("Jestetten\nGermany"), and the block's layout is
the better evidence.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from importlib.resources import files

from veil.detect.base import Span
from veil.detect.wordlist import trie_pattern

_UPPER = "A-Z" + "".join(ch for ch in map(chr, range(0xC0, 0x250)) if ch.isupper())
_WORD = rf"[{_UPPER}][^\W\d_]*(?:['\-][^\W\d_]+)*"
# One to four capitalised words alone on a line: an address block's town.
_TOWN_LINE = re.compile(rf"(?:^|(?<=\n))[ \t]*(?P<town>{_WORD}(?:[ \t]{_WORD}){{0,3}})[ \t]*\n[ \t]*\Z")


@cache
def default_countries() -> frozenset[str]:
    """The shipped country names, lowercase, loaded once per process."""
    text = files("veil.detect").joinpath("data").joinpath("countries.txt").read_text(encoding="utf-8")
    return frozenset(
        " ".join(line.split("#", 1)[0].split()) for line in text.splitlines() if line.split("#", 1)[0].strip()
    )


def _country_pattern(names: frozenset[str]) -> re.Pattern[str]:
    # A trie: greedy, so "Guinea-Bissau" wins over "Guinea". No look-behind in front: it
    # would stop `re` from skipping to positions where a name could start; `find` checks
    # the character before a match instead.
    # Case-sensitive, as written and in capitals: a lowercase "turkey" is a bird, and
    # IGNORECASE would make every position of the text a possible start.
    spellings = {_titled(name) for name in names} | {name.upper() for name in names}
    return re.compile(rf"(?:{trie_pattern(spellings)})(?![\w\-])")


class PlaceDetector:
    """Finds LOCATION values: country names and the town line above them (see the module docstring)."""

    name = "places"
    entity_type = "LOCATION"
    guesses = True
    country_score = 0.7
    town_score = 0.88
    trigger: re.Pattern[str] | None = re.compile(rf"[{_UPPER}]")

    def __init__(self, countries: frozenset[str] | None = None) -> None:
        self._pattern = _country_pattern(countries if countries is not None else default_countries())

    def find(self, text: str) -> Iterator[Span]:
        for match in self._pattern.finditer(text):
            if match.start() and (text[match.start() - 1].isalnum() or text[match.start() - 1] in "_-"):
                continue
            yield Span(self.entity_type, match.start(), match.end(), self.country_score, self.name)
            if _alone_on_line(text, match.start(), match.end()):
                town = _TOWN_LINE.search(text, max(0, match.start() - 120), match.start())
                if town is not None:
                    yield Span(
                        self.entity_type, town.start("town"), town.end("town"), self.town_score, self.name
                    )


_SMALL_WORDS = frozenset({"and", "of", "the"})


def _titled(name: str) -> str:
    """'bosnia and herzegovina' → 'Bosnia and Herzegovina', "côte d'ivoire" → "Côte d'Ivoire"."""

    def part(word: str) -> str:
        head, apostrophe, tail = word.rpartition("'")
        if apostrophe and len(head) == 1:
            return head + apostrophe + tail[:1].upper() + tail[1:]
        return word[:1].upper() + word[1:]

    return " ".join(
        word if word in _SMALL_WORDS else "-".join(part(piece) for piece in word.split("-"))
        for word in name.lower().split()
    )


def _alone_on_line(text: str, start: int, end: int) -> bool:
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    return not text[line_start:start].strip() and not text[end:line_end].strip()
