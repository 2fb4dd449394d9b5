"""Person names found with name lists: the ones a model misses (lowercase, short texts, no context).

The lists are data files (see `data/README.md`): US Census first names and surnames, a
curated list of given names from elsewhere, and three curated word lists that keep common
words from reading as names. `NameLists` holds them (inject your own to test or tune);
`default_name_lists()` loads the shipped files once per process.

How a name is found:
- A capitalised listed first name starts a name. Capitalised words that follow on the same
  line, a space apart, extend it, with particles ("van der", "de la") and initials ("F.")
  between them: "Maria Gonzalez", "John F. Kennedy", "Mary-Jane O'Neil". A possessive is
  left out ("John's" gives "John"). An unlisted word extends a name only when it looks like
  one: not "Library" or "Tracing" (English endings), and not the first of a Title Case run
  ("Emilia Pinball Emulator" gives "Emilia"). An all-capitals word starts a name only with
  an all-capitals surname after it ("JOHN SMITH") or a cue before it, so acronyms (PAM,
  MAC, SAM) stay out.
- A title (Mr., Dr., Prof., Herr, Frau, Mme, Sra. ...) followed by a capitalised word starts
  a name on that word, listed or not: "Dr. Nakamura". The title stays outside the span, so
  a rewrite keeps "Dr." readable.
- A lowercase word is a name only right after a cue and only when listed: "i am john",
  "thanks maria", "mr smith", but "i am happy" finds nothing. After "my name is" an unlisted
  word counts too ("my name is bibulat"), and after "my name is", "Name:", "Dear", "call me"
  or "named" an unlisted capitalised one ("Dear Svitlana", "call me Ishmael"). Phrases and
  questions that ask for a name work the same way: "her maiden name is Meza", "What's your
  last name? Smith", "everyone calls me Eija". After a phrase a lone word may end like an
  English one ("My name is Anders"); everywhere else that ending rules an unlisted word out.
- Words that are also names: a "never alone" name (May, June, Will, Art, China, Paris...)
  needs a listed surname after it, or a cue or title before it ("Will Smith", "ask Will");
  a "common word" name (Mark, Bill, Grace, Hope, Frank...) needs support only at the start
  of a sentence or inside a Title Case heading ("Mark the box", "(But Secretly Love)" are no
  names; "give it to Mark" is). After "i am", "i'm",
  "this is" a lowercase ambiguous word is never a name ("i'm frank"). Function words,
  months, greetings and field labels ("Name:", "Dear Sir", "Dear Customer") are never a
  name and never extend one.

`trigger` is cheap but loose: any capital letter, or a lowercase cue word. Sentence-case
prose always has one, so the analyzer skips this detector only on all-lowercase text
without cues. (A trie of the listed names as the trigger was exact but cost more than
`find` itself.)

Scores sit below the NER detector's, so a model's label wins a tie on the same characters:
0.6 for a list-only match (a first name alone or with unlisted words after it); 0.75 when
something supports it (a listed surname or first name after it, a cue or a title before);
0.7 for an unlisted word taken on a cue alone.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from functools import cache

from veil.detect.base import Span
from veil.detect.wordlist import data_words, trie_pattern

_UPPER_ACCENTED = "".join(ch for ch in map(chr, range(0xC0, 0x250)) if ch.isupper())
_UPPER = "A-Z" + _UPPER_ACCENTED
_LOWER = "a-z" + "".join(ch for ch in map(chr, range(0xDF, 0x250)) if ch.islower())
# Character-class contents for capital and small letters (Latin, with accents), for the
# other name detectors' patterns.
UPPER, LOWER = _UPPER, _LOWER
_LETTER = r"[^\W\d_]"
_APOSTROPHES = "'\u2019"
_REST = rf"(?:{_LETTER}|[{_APOSTROPHES}\-](?={_LETTER}))*(?!\w)"
# `match`ed at known word starts; the scan checks the word start after the first letter so
# the pattern begins with a plain class, which `re` skips through quickly.
_CAPITALISED = re.compile(rf"[{_UPPER}]{_REST}")
_CAPITALISED_SCAN = re.compile(rf"[{_UPPER}](?<![\w{_APOSTROPHES}\-][{_UPPER}])[\w{_APOSTROPHES}\-]*")
# Digits or underscores: not a plain word ("John2", "Max_len").
_NOT_A_WORD = re.compile(r"[\d_]")
_LOWERCASE = re.compile(rf"[{_LOWER}]{_REST}")

_PARTICLES = (
    "van|von|de|der|den|del|della|delle|dei|degli|di|da|das|do|dos|du|la|le|ten|ter|zu|"
    "bin|binti|bint|ibn|al|el|ben|af|av|y"
)
# Between two parts of a name: a space or two, particles, an initial with or without a dot.
_GAP = re.compile(rf"[ \t]{{1,2}}(?:(?:{_PARTICLES})[ \t]+)*(?:[{_UPPER}]\.?[ \t]+(?=[{_UPPER}]))?")
_LOWER_GAP = re.compile(rf"[ \t]{{1,2}}(?:(?:{_PARTICLES})[ \t]+)*")
_TITLE_GAP = re.compile(r"\.?[ \t]{1,2}")
_MAX_PARTS = 4
# Unlisted words with these endings are English words, not surnames ("Ray Tracing Library").
_ENGLISH_ENDING = re.compile(
    r"(?:ing|tion|sion|ment|ness|ity|ary|ory|ics|ies|able|ible|ful|less|ive|ous|ism|ware|work|works|"
    r"ed|ly|ers|ors|ings)\Z"
)
_NOT_A_GIVEN_NAME = re.compile(r"(?:ing|ed|ly)\Z")
# What may follow a value after "Name:" (not "name: Optional[str]").
_LABEL_VALUE_END = re.compile(r"[ \t]*(?:[\n\r,;.)|]|\Z|[ \t]{2})")

_TITLE_WORDS = """
    mr mrs ms mx miss dr prof professor sir dame lady lord herr frau mme mlle mevr mevrouw dhr
    sr sra srta señor señora senhor senhora signor signora sig dott rev fr capt col gen lt sgt hon
    judge senator president officer detective coach father uncle aunt auntie monsieur madame mademoiselle
"""
_LOWER_TITLES = ("mr", "mrs", "ms", "mx", "dr", "prof")

# "last name is", "your name?": which name a phrase or a question asks for.
_NAME_KINDS = ("last", "first", "full", "given", "family", "middle", "maiden", "his", "her", "their", "your")
# Cues, by kind. "phrase" states a name and allows an unlisted word after it; "label" is a
# form field; "strong" addresses or names someone; "weak" often comes before a name;
# "states" comes before a name or an adjective ("i'm frank"), so it never supports an
# ambiguous one; "title" is a lowercase title. A lone "name is" / "name:" must not follow
# another word ("file name is", "the name:").
_CUES = {
    "phrase": (
        "my name is",
        "my name's",
        "name is",
        "name's",
        "my names",
        *(f"{whose} name is" for whose in _NAME_KINDS),
        "surname is",
    ),
    "label": (
        *(f"{whose} name?" for whose in _NAME_KINDS),
        "surname?",
        "name:",
        "names:",
        "first name:",
        "last name:",
        "full name:",
        "given name:",
        "family name:",
        "middle name:",
        "maiden name:",
        "contact name:",
        "customer name:",
        "patient name:",
        "client name:",
        "your name:",
        # fields whose value is a person: credits, mail and ticket headers, forms
        *("by:", "author:", "authors:", "attn:", "attention:", "assignee:", "reporter:", "owner:"),
        *("recipient:", "sender:", "signed:", "patient:", "employee:", "applicant:", "user:"),
        *("tenant:", "landlord:", "guest:", "passenger:", "driver:", "buyer:", "seller:", "customer:"),
        *("client:", "witness:", "beneficiary:", "spouse:", "guardian:", "student:", "teacher:"),
    ),
    "strong": (
        "call me",
        "calls me",
        "named",
        "named him",
        "named her",
        "dear",
        "known as",
        "i go by",
    ),
    "states": ("i'm", "i\u2019m", "i am", "this is", "from:", "contact", "text"),
    "weak": (
        "hi",
        "hello",
        "hey",
        "tell",
        "ask",
        "email",
        "e-mail",
        "thanks",
        "thank you",
        "cc",
        "meet",
        "met",
        "ping",
        "regards",
        "cheers",
        "sincerely",
    ),
    "title": _LOWER_TITLES,
}
_NEEDS_BOUNDARY = ("name is", "name's", "name:", "names:")
_CUE_KIND = {cue: kind for kind, cues in _CUES.items() for cue in cues}
_CUE_WORDS = trie_pattern(_CUE_KIND)
_CUE_AFTER = r"(?!\w)(?P<dot>\.?)[ \t]*,?[ \t]*(?:(?:mr|mrs|ms|mx|dr|prof)\.?[ \t]+)?(?=\w)"
_CUE_SCAN = re.compile(rf"\b(?P<cue>{_CUE_WORDS}){_CUE_AFTER}")
_CUE_SCAN_ANY_CASE = re.compile(_CUE_SCAN.pattern, re.IGNORECASE)

_WORD_BEFORE = re.compile(r"(\w+)[ \t]+\Z")
_WORD_AFTER = re.compile(r"[ \t]+(\w+)")
_SENTENCE_END = frozenset(".!?:;\n\r\u2026")
_SENTENCE_LEAD = frozenset(" \t\"'\u201c\u2018\u00ab([*\u2022>-\u2013\u2014#")
_FOLDED = str.maketrans(
    {"ł": "l", "ø": "o", "đ": "d", "æ": "ae", "œ": "oe", "\u0131": "i", "'": "", "\u2019": ""}
)


def fold(word: str) -> str:
    """The lookup key of a word: lowercase, accents and apostrophes removed."""
    if word.isascii():
        return word.lower().replace("'", "")
    decomposed = unicodedata.normalize("NFKD", word.casefold().translate(_FOLDED))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


_TITLES = frozenset(map(fold, _TITLE_WORDS.split()))


class NameLists:
    """The word sets the detector consults; every entry is stored as its folded key (see `fold`)."""

    def __init__(
        self,
        first_names: Iterable[str],
        surnames: Iterable[str],
        *,
        never_alone: Iterable[str] = (),
        common_words: Iterable[str] = (),
        not_names: Iterable[str] = (),
    ) -> None:
        self.first_names = frozenset(map(fold, first_names))
        self.surnames = frozenset(map(fold, surnames))
        self.never_alone = frozenset(map(fold, never_alone))
        self.common_words = frozenset(map(fold, common_words))
        self.not_names = frozenset(map(fold, not_names))

    def is_first(self, key: str) -> bool:
        """A listed first name, or a hyphenated one made of them ("mary-jane")."""
        if key in self.first_names:
            return True
        parts = key.split("-")
        return len(parts) > 1 and all(part in self.first_names for part in parts)

    def is_surname(self, key: str) -> bool:
        return key in self.surnames or ("-" in key and any(part in self.surnames for part in key.split("-")))


def is_person_field(label: str) -> bool:
    """Whether `label` ("Tenant", "Author") heads a field whose value is a person's name."""
    return f"{fold(label)}:" in _CUE_KIND


def looks_english(key: str) -> bool:
    """Whether a folded word ends like an English word rather than a surname ("Tracing")."""
    return _ENGLISH_ENDING.search(key) is not None


@cache
def default_name_lists() -> NameLists:
    """The lists shipped in `veil/detect/data`, loaded once per process."""
    return NameLists(
        [*data_words("first_names.txt"), *data_words("first_names_world.txt")],
        data_words("surnames.txt"),
        never_alone=data_words("never_alone_names.txt"),
        common_words=data_words("common_word_names.txt"),
        not_names=data_words("not_name_words.txt"),
    )


class NameDetector:
    """Finds PERSON values from name lists (see the module docstring)."""

    name = "names"
    entity_type = "PERSON"
    # A list match is a guess: it yields to validated findings where they overlap (Analyzer).
    guesses = True
    listed_score = 0.6
    supported_score = 0.75
    cued_unlisted_score = 0.7

    # Every name has a capital letter or comes right after a cue; a cue with any capital in
    # it is covered by the first branch, so only lowercase cues need listing.
    trigger: re.Pattern[str] | None = re.compile(rf"[{_UPPER}]|\b(?:{_CUE_WORDS})(?!\w)")

    def __init__(self, lists: NameLists | None = None) -> None:
        self.lists = lists if lists is not None else default_name_lists()

    def find(self, text: str) -> Iterator[Span]:
        cues = _cues(text)
        found = [*self._capitalised(text, cues), *self._after_cues(text, cues)]
        found.sort(key=lambda span: (span.start, -len(span)))
        end = 0
        for span in found:
            if span.start >= end:
                end = span.end
                yield span

    def _capitalised(self, text: str, cues: dict[int, str]) -> Iterator[Span]:
        taken = 0
        first_names = self.lists.first_names
        for candidate in _CAPITALISED_SCAN.finditer(text):
            raw = candidate.group()
            if (
                raw.isalpha()
                and raw.isascii()
                and raw.lower() not in first_names
                and raw.lower() not in _TITLES
            ):
                continue  # the common case, decided without building a match
            if candidate.start() < taken or _NOT_A_WORD.search(raw):
                continue
            token = _CAPITALISED.match(text, candidate.start())
            if token is None:
                continue
            span = self._name_at(text, token, cues.get(token.start()))
            if span is not None:
                taken = span.end
                yield span

    def _name_at(self, text: str, token: re.Match[str], cue: str | None) -> Span | None:
        lists = self.lists
        word = _without_possessive(token.group())
        key = fold(word)
        capitals = word.isupper() and len(word) > 1
        if key in _TITLES:
            return self._after_title(text, token.start() + len(word), capitals=capitals)
        if not lists.is_first(key) or (key in lists.not_names and key not in lists.never_alone):
            return None
        end, support = self._extend(text, token.start(), token.group(), capitals=capitals)
        ambiguous = key in lists.never_alone or key in lists.common_words
        if capitals and (support != "surname" or ambiguous) and cue in (None, "weak", "states"):
            return None  # acronyms: "MAC", "PAM", "MS SQL"
        if key in lists.never_alone and support != "surname" and cue in (None, "states"):
            return None
        if (
            key in lists.common_words
            and not (support or cue)
            and (_starts_sentence(text, token.start()) or _in_title_case(text, token.start(), end))
        ):
            return None
        supported = support in ("surname", "first") or cue is not None
        score = self.supported_score if supported else self.listed_score
        return Span(self.entity_type, token.start(), end, score, self.name)

    def _after_title(self, text: str, end: int, *, capitals: bool) -> Span | None:
        """The name after a title that ends at `end`, if a capitalised word follows it.

        After a title in capitals the name must be listed: "MR SMITH", not "MS SQL".
        """
        gap = _TITLE_GAP.match(text, end)
        token = _CAPITALISED.match(text, gap.end()) if gap else None
        if token is None:
            return None
        key = fold(_without_possessive(token.group()))
        if len(key) < 2 or key in self.lists.not_names or key in _TITLES:
            return None
        if capitals and not (self.lists.is_surname(key) or self.lists.is_first(key)):
            return None
        stop, _ = self._extend(text, token.start(), token.group(), capitals=token.group().isupper())
        return Span(self.entity_type, token.start(), stop, self.supported_score, self.name)

    def _extend(self, text: str, start: int, first: str, *, capitals: bool) -> tuple[int, str | None]:
        """Where a name starting with the word `first` ends, and the best support found
        after it: "surname", "first" (a listed first name), "unlisted" or None."""
        lists = self.lists
        word = _without_possessive(first)
        end = start + len(word)
        support: str | None = None
        if word != first:
            return end, None  # "John's": the possessive closes the name
        for _ in range(_MAX_PARTS - 1):
            token = self._next_part(text, end, capitals)
            if token is None:
                break
            part = _without_possessive(token.group())
            key = fold(part)
            if lists.is_surname(key):
                support = "surname"
            elif lists.is_first(key) and key not in lists.never_alone:
                support = support or "first"
            elif _ENGLISH_ENDING.search(key) or self._unlisted_follows(text, token.end(), capitals):
                break
            else:
                support = support or "unlisted"
            end = token.start() + len(part)
            if part != token.group():
                break
        return end, support

    def _next_part(self, text: str, end: int, capitals: bool) -> re.Match[str] | None:
        """The capitalised word that could continue a name ending at `end`."""
        gap = _GAP.match(text, end)
        token = _CAPITALISED.match(text, gap.end()) if gap else None
        if token is None or (len(token.group()) > 1 and token.group().isupper()) != capitals:
            return None
        key = fold(_without_possessive(token.group()))
        if len(key) < 2 or key in self.lists.not_names or key in _TITLES:
            return None
        return token

    def _unlisted_follows(self, text: str, end: int, capitals: bool) -> bool:
        """Whether another unlisted capitalised word comes next: a Title Case run, not a name."""
        token = self._next_part(text, end, capitals)
        if token is None:
            return False
        key = fold(_without_possessive(token.group()))
        return not (self.lists.is_surname(key) or self.lists.is_first(key))

    def _after_cues(self, text: str, cues: dict[int, str]) -> Iterator[Span]:
        """Lowercase names after any cue; unlisted capitalised ones after a phrase, label or strong cue."""
        lists = self.lists
        for position, kind in cues.items():
            lowercase = _LOWERCASE.match(text, position)
            if lowercase is not None:
                span = self._lowercase_name(text, lowercase, kind)
            elif kind in ("phrase", "label", "strong") and (token := _CAPITALISED.match(text, position)):
                key = fold(_without_possessive(token.group()))
                if len(key) < 2 or lists.is_first(key) or key in lists.not_names or key in _TITLES:
                    continue  # a listed name is found by `_capitalised`; a title by `_after_title`
                span = self._unlisted_name(text, token, kind)
            else:
                continue
            if span is not None:
                yield span

    def _lowercase_name(self, text: str, token: re.Match[str], kind: str) -> Span | None:
        lists = self.lists
        word = _without_possessive(token.group())
        key = fold(word)
        if len(key) < 2 or (key in lists.not_names and key not in lists.never_alone):
            return None
        score = self.supported_score
        if lists.is_first(key):
            ambiguous = key in lists.never_alone or key in lists.common_words
            if ambiguous and kind in ("weak", "states"):
                return None
        elif kind == "title" and lists.is_surname(key):
            pass
        elif kind == "phrase" and not _NOT_A_GIVEN_NAME.search(key):
            score = self.cued_unlisted_score
        else:
            return None
        end = token.start() + len(word)
        if word == token.group():
            end = self._extend_lowercase(text, end, unlisted_ok=kind == "phrase")
        return Span(self.entity_type, token.start(), end, score, self.name)

    def _unlisted_name(self, text: str, token: re.Match[str], kind: str) -> Span | None:
        capitals = token.group().isupper()
        end, _ = self._extend(text, token.start(), token.group(), capitals=capitals)
        if kind == "label" and _LABEL_VALUE_END.match(text, end) is None:
            return None
        value = fold(text[token.start() : end])
        # "My name is Anders": a phrase states a name, so a lone word may look English, unless
        # a Title Case run goes on after it ("my name is Processing Library").
        alone = " " not in value and not _CAPITALISED.match(text, end + 1)
        if _ENGLISH_ENDING.search(value) and not (kind == "phrase" and alone):
            return None
        return Span(self.entity_type, token.start(), end, self.cued_unlisted_score, self.name)

    def _extend_lowercase(self, text: str, end: int, *, unlisted_ok: bool) -> int:
        """Lowercase surnames after a lowercase first name; an unlisted one only after a
        phrase cue and only when it ends the phrase ("my name is bibulat sultygov.")."""
        lists = self.lists
        for _ in range(_MAX_PARTS - 1):
            gap = _LOWER_GAP.match(text, end)
            token = _LOWERCASE.match(text, gap.end()) if gap else None
            if token is None:
                break
            part = _without_possessive(token.group())
            key = fold(part)
            if len(key) < 2 or key in lists.not_names:
                break
            if not (lists.is_surname(key) or lists.is_first(key)):
                closes = _LABEL_VALUE_END.match(text, token.end()) is not None
                if not (unlisted_ok and closes and not _NOT_A_GIVEN_NAME.search(key)):
                    break
            end = token.start() + len(part)
            if part != token.group():
                break
        return end


def _cues(text: str) -> dict[int, str]:
    """Where a word right after a cue starts, and the cue's kind."""
    lowered = text.lower()
    source, pattern = (lowered, _CUE_SCAN) if len(lowered) == len(text) else (text, _CUE_SCAN_ANY_CASE)
    found: dict[int, str] = {}
    for match in pattern.finditer(source):
        cue = " ".join(match.group("cue").lower().split())
        kind = _CUE_KIND[cue]
        if match.group("dot") and kind != "title":
            continue  # "Thanks. Will you..." is two sentences
        if cue in _NEEDS_BOUNDARY and _after_word(text, match.start()):
            continue  # "file name: report", "the name is"
        found.setdefault(match.end(), kind)
    return found


def _after_word(text: str, index: int) -> bool:
    return index >= 2 and text[index - 1] in " \t" and text[index - 2].isalnum()


def _without_possessive(word: str) -> str:
    if len(word) > 3 and word[-2] in _APOSTROPHES and word[-1] in "sS":
        return word[:-2]
    return word


def _in_title_case(text: str, start: int, end: int) -> bool:
    """Whether the word before or after text[start:end] on the same line is capitalised too:
    a heading in Title Case ("(But Secretly Love)"), where a common word is just a word."""
    before = _WORD_BEFORE.search(text, max(0, start - 40), start)
    after = _WORD_AFTER.match(text, end)
    return bool(before and before.group(1)[0].isupper()) or bool(after and after.group(1)[0].isupper())


def _starts_sentence(text: str, start: int) -> bool:
    index = start
    while index and text[index - 1] in _SENTENCE_LEAD:
        index -= 1
    return index == 0 or text[index - 1] in _SENTENCE_END
