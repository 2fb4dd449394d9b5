"""People named by where they stand in a text, listed or not: the speakers of a transcript
and someone addressed at the start of a sentence.

The small NER model and the name lists miss foreign names that stand alone ("Mineko",
"Hilbrand"), but some places in a text hold only a person:

- the speakers of a transcript: two or more lines that open with different names and a
  colon ("Arya: What a wife.\\nShawn: Remember me?", escaped line breaks too). One such line
  alone is a label, not a dialogue;
- someone addressed at the start of a sentence, or of a quote, before a request or a
  pronoun: "Wisław, can I please speak to you", "Hilbrand, please send it". In lowercase
  ("priya, your report is late") only a listed given name that is no everyday word counts.

Roles, note labels, person fields and interjections ("User:", "Note:", "Tenant:", "Sorry,
can you") are never such a name, nor is a word that ends like an English one unless listed.
Spans score as a name taken on a cue (0.7): the model's label wins a tie.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from veil.detect.base import Span
from veil.detect.names import (
    LOWER,
    UPPER,
    NameLists,
    default_name_lists,
    fold,
    is_person_field,
    looks_english,
)

# A transcript: lines that open with a speaker and a colon ("Arya: What a wife.", also after
# an escaped line break). Two different speakers make a dialogue; one line alone is a label.
_SPEAKER = re.compile(
    rf"(?:\A|\n|\\n)[ \t]*(?P<name>[{UPPER}][{LOWER}]+(?:[ \t][{UPPER}][{LOWER}]+)?)"
    r"[ \t]*:[ \t]*(?=[\w\"'\u201c])"
)
# Someone addressed by name at the start of a sentence, then a request or a pronoun:
# "Wisław, can I please speak to you", "Patrizio, please send it".
# A quote may open with one too. In lowercase ("priya, your report is late") only a listed
# given name that is no everyday word counts.
_ADDRESSED = re.compile(
    rf"(?:\A|[\n.!?][ \t]*|\\n[ \t]*|[\"\u201c])"
    rf"(?P<name>[{UPPER}{LOWER}][{LOWER}]+(?:[ \t][{UPPER}][{LOWER}]+)?),[ \t]+"
    r"(?=(?i:can|could|would|will|do|did|are|have|please|i|i'm|we|you|your|let's|thanks|thank)\b)"
)
# Who speaks in transcripts, or opens a sentence with a comma, without being a person's
# name (beyond `not_names`): roles, note labels, interjections and sentence adverbs.
_NOT_ADDRESSEE_WORDS = """
    assistant system human ai bot model chatgpt gpt claude gemini copilot interviewer interviewee speaker
    narrator host moderator caller operator question answer note notes warning error input output summary
    example step result context task subject date time status description title reply response request
    comment update edit source tip hint important todo bug issue feature pros cons option solution problem
    goal objective prompt query action observation thought final aliases arguments args returns raises
    yields parameters params usage attributes examples see true false none remark alas
    sorry okay ok alright sure great perfect right anyway besides meanwhile hmm oh ah wow cool nice guys
    folks yeah yep nope indeed again plus look listen wait second third finally lastly also actually
"""
_NOT_ADDRESSEES = frozenset(_NOT_ADDRESSEE_WORDS.split())


class AddressedNameDetector:
    """Finds PERSON values by where they stand (see the module docstring)."""

    name = "addressed_names"
    entity_type = "PERSON"
    guesses = True
    score = 0.7
    trigger: re.Pattern[str] | None = re.compile("[:,]")

    def __init__(self, lists: NameLists | None = None) -> None:
        self.lists = lists if lists is not None else default_name_lists()

    def find(self, text: str) -> Iterator[Span]:
        yield from self._speakers(text)
        yield from self._addressed(text)

    def _speakers(self, text: str) -> list[Span]:
        """The speakers of a transcript, listed or not: two or more lines that open with
        different names and a colon. Roles and labels ("User:", "Note:") are no speakers."""
        if ":" not in text:
            return []
        speakers = [
            line
            for line in _SPEAKER.finditer(text)
            # A person field ("Tenant:", "Author:") is a label whose value is the name.
            if not is_person_field(line.group("name")) and self._could_be_addressed(line.group("name"))
        ]
        if len({fold(line.group("name")) for line in speakers}) < 2:
            return []
        return [self._cued_unlisted(line) for line in speakers]

    def _addressed(self, text: str) -> list[Span]:
        """Someone addressed by name at the start of a sentence ("Hilbrand, can I ...")."""
        if "," not in text:
            return []
        return [
            self._cued_unlisted(match)
            for match in _ADDRESSED.finditer(text)
            if self._could_be_addressed(match.group("name"))
            and (match.group("name")[0].isupper() or self._plain_given_name(match.group("name")))
        ]

    def _plain_given_name(self, word: str) -> bool:
        key = fold(word)
        lists = self.lists
        return lists.is_first(key) and key not in lists.common_words and key not in lists.never_alone

    def _could_be_addressed(self, name: str) -> bool:
        """Whether every word of `name` could be a name: not a label, role, interjection
        or (unless listed) a word with an English ending."""
        for word in name.split():
            key = fold(word)
            if key in self.lists.not_names or key in _NOT_ADDRESSEES:
                return False
            if looks_english(key) and not self.lists.is_first(key):
                return False
        return True

    def _cued_unlisted(self, match: re.Match[str]) -> Span:
        return Span(self.entity_type, match.start("name"), match.end("name"), self.score, self.name)
