"""Response side: put the real values back where the model wrote tokens or surrogates.

`Restorer` works on whole strings; `StreamRestorer` on a stream of deltas, holding back
only a suffix that could still become a token or a surrogate and flushing as soon as it
cannot.

Surrogates are matched whole-word and case-insensitively (a model may capitalise a name
it moved to the start of a sentence, or write it in capitals the Turkish way: "LİNDA").
Whole-word: no letter or digit right before or after. Underscores there are markdown
emphasis when their run (one to three) has no letter or digit on its far side, so
`_Ana Moreno_` and `__Ana__` are restored and `ana_moreno_id` is not. In a JSON document
a word may also start right after an escape: `\\nLinda` is a line break, then the name.

A made name's parts stand for the real name's: when "Linda Smith" went out as "Ana
Moreno", a reply's "Ana" alone is "Linda" and "Moreno" alone is "Smith" (of a real name
in three words or more, the first and the last). A part is restored on its own only when
it can mean no one else:
- among the request's surrogates it stands for one real word only: two stand-ins sharing
  a given name for two people leave that name as written, and a stand-in sent whole
  ("Ana" for "Mary") keeps its own value;
- it is no word of a real value the request carried, which the model may have read where
  Veil found nothing to replace;
- it is not joined to another capitalised name by a space or a hyphen: a given name
  followed by a name, or a surname after a given name, is someone else's full name
  ("Ana Costa", "Maria Moreno");
- it is not joined to another word by "." or "@": it is then part of an address
  ("ana.moreno@example.org" with its digit dropped).
A part left alone is the stand-in as the model wrote it, never another person's value.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping
from typing import Literal

from veil.detect.names import default_name_lists, fold
from veil.errors import VaultUnavailable
from veil.pseudonymize.surrogates import name_parts
from veil.pseudonymize.tokens import MAX_TOKEN_LENGTH, PARTIAL_TOKEN_TAIL, TOKEN_PATTERN, canonical
from veil.pseudonymize.vault import Vault

# What a surrogate may follow: not a letter, digit or underscore (it would be the end of a
# longer word); in a JSON string, also an escape such as \n or \u00a0. Then, or right
# after one of these, markdown emphasis: `_`, `__` (strong) or `___` (both).
_MAX_EMPHASIS = 3
_EDGES = {
    False: (r"(?<!\w)",),
    True: (r"(?<!\w)", r"(?<!\\)\\[bfnrt]", r"(?<!\\)\\u[0-9A-Fa-f]{4}"),
}
_WORD_STARTS = {
    json_string: "(?:{})".format(
        "|".join(f"(?<={edge}{'_' * n})" for edge in edges for n in range(_MAX_EMPHASIS + 1))
    )
    for json_string, edges in _EDGES.items()
}
# What may follow: no letter or digit, after emphasis if any.
_WORD_END = rf"(?=_{{0,{_MAX_EMPHASIS}}}(?!\w))"
_STARTS = {json_string: re.compile(start) for json_string, start in _WORD_STARTS.items()}
# The letters a case-insensitive pattern takes for an ASCII one that `str.lower` keeps
# apart: the Turkish dotted capital I (its lowercase is "i" and a combining dot), the
# dotless i, the long s.
_CASE_FOLDS = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s"})
_WORD = re.compile(r"\w+")
# The word joined to a part, after or before it; before, a JSON escape's letter is no part of it.
_JOINED_AFTER = re.compile(r"[ -](\w+)")
_JOINED_BEFORE = re.compile(r"(?:(?<=\\)[bfnrt])?(\w+)[ -]\Z")
_ADDRESS_AFTER = re.compile(r"[.@]\w")
_ADDRESS_BEFORE = re.compile(r"\w[.@]\Z")
# At the end of a stream's text: a word and what is joined to it, which may still be arriving.
_OPEN_JOIN = re.compile(r"(\w+)(?:[ -]\w*|[.@])\Z")

Role = Literal["whole", "given", "surname"]
_PART_ROLES: tuple[Role, Role] = ("given", "surname")


def fold_case(text: str) -> str:
    """`text` as surrogates are compared: in the case the restorer's patterns ignore."""
    return text.translate(_CASE_FOLDS).lower()


class Restorer:
    """Restores tokens of one scope, and the request's surrogates. Tokens the vault does
    not know are left as written."""

    def __init__(self, vault: Vault, scope: str, surrogates: Mapping[str, str] | None = None) -> None:
        self._vault = vault
        self._scope = scope
        surrogates = surrogates or {}
        whole: dict[str, tuple[str, Role]] = {fold_case(k): (v, "whole") for k, v in surrogates.items()}
        found = {**_lone_parts(surrogates, whole), **whole}
        # Longest first; a match's group number says which one it is, whatever its case.
        keys = sorted(found, key=len, reverse=True)
        self._found = [found[k] for k in keys]
        alternatives = "|".join(f"({re.escape(k)})" for k in keys)
        self._surrogate_patterns = {
            json_string: re.compile(f"{start}(?:{alternatives}){_WORD_END}", re.IGNORECASE)
            for json_string, start in _WORD_STARTS.items()
        }
        # What it looks for, folded: surrogates and the parts it restores alone.
        self.sought = frozenset(keys)
        # Every proper prefix of each: a stream tail that is one may still become one.
        self.surrogate_prefixes = frozenset(k[:n] for k in keys for n in range(1, len(k)))
        self.longest_surrogate = max(map(len, keys), default=0)
        # The parts restored alone: whether one is, depends on what is joined to it.
        self.parts = frozenset(k for k, (_, role) in found.items() if role != "whole")
        self.restored = 0
        self.unknown = 0

    def restore(self, text: str, *, json_string: bool = False, after: str = "", ahead: str = "") -> str:
        """`text` with tokens and surrogates replaced by their values.

        With `json_string`, `text` is (part of) a JSON document such as tool-call arguments
        and every value is inserted JSON-escaped, so the document stays valid JSON.
        `after` is what came just before `text` in a stream: a surrogate right after a
        letter there is the end of a longer word, not a surrogate, and a surname right
        after a given name there is someone else's. `ahead` is what follows `text` so far,
        held back: a given name joined to a name there is someone else's.
        """
        if self._found:
            pattern = self._surrogate_patterns[json_string]
            text = _sub_between(pattern, after, text, ahead, lambda m: self._real(m, json_string))
        if "<" not in text and "[" not in text and "&lt;" not in text:
            return text
        return TOKEN_PATTERN.sub(lambda m: self._replace(m, json_string), text)

    def match_at(self, text: str, position: int, *, json_string: bool) -> re.Match[str] | None:
        """The surrogate, or part of one, that starts at `text[position]`, if any."""
        return self._surrogate_patterns[json_string].match(text, position) if self._found else None

    def may_start(self, text: str, position: int, *, json_string: bool) -> bool:
        """Whether a surrogate may start at `text[position]`, given what comes before it."""
        return _STARTS[json_string].match(text, position) is not None

    def _real(self, match: re.Match[str], json_string: bool) -> str:
        value, role = self._found[(match.lastindex or 1) - 1]
        if role != "whole" and _belongs_elsewhere(match, role):
            return match.group(0)
        self.restored += 1
        return _json_escaped(value) if json_string else value

    def _replace(self, match: re.Match[str], json_string: bool) -> str:
        try:
            value = self._vault.value_for(self._scope, canonical(match))
        except Exception as exc:
            raise VaultUnavailable("The token vault is unavailable; the reply cannot be restored.") from exc
        if value is None:
            self.unknown += 1
            return match.group(0)
        self.restored += 1
        return _json_escaped(value) if json_string else value


def _lone_parts(surrogates: Mapping[str, str], whole: Collection[str]) -> dict[str, tuple[str, Role]]:
    """The parts of made names that are restored alone, folded, with their real words (see
    the module docstring for when)."""
    meanings: defaultdict[str, set[tuple[str, Role]]] = defaultdict(set)
    for fake, real in surrogates.items():
        for (fake_word, real_word), role in zip(name_parts(fake, real), _PART_ROLES, strict=False):
            meanings[fold_case(fake_word)].add((real_word, role))
    real_words = {fold_case(word) for real in surrogates.values() for word in _WORD.findall(real)}
    return {
        part: next(iter(found))
        for part, found in meanings.items()
        if len(found) == 1 and part not in whole and part not in real_words
    }


def _belongs_elsewhere(match: re.Match[str], role: Role) -> bool:
    """Whether a part found alone is part of someone else's full name, or of an address."""
    text = match.string
    if _ADDRESS_AFTER.match(text, match.end()) or _ADDRESS_BEFORE.search(
        text, max(0, match.start() - 2), match.start()
    ):
        return True
    if role == "given":
        after = _JOINED_AFTER.match(text, match.end())
        return after is not None and _is_name(after.group(1), surname_too=True)
    before = _JOINED_BEFORE.search(text, max(0, match.start() - _CONTEXT_CHARS), match.start())
    return before is not None and _is_name(before.group(1), surname_too=False)


def _is_name(word: str, *, surname_too: bool) -> bool:
    """A capitalised given name (or surname) of the detector's lists that is no function word."""
    if not word[:1].isupper():
        return False
    lists = default_name_lists()
    key = fold(word)
    return key not in lists.not_names and (lists.is_first(key) or (surname_too and lists.is_surname(key)))


def _sub_between(
    pattern: re.Pattern[str], before: str, text: str, ahead: str, replace: Callable[[re.Match[str]], str]
) -> str:
    """`pattern.sub(replace, text)`, with `text` between `before` and `ahead`: lookarounds,
    and `replace`, see them. A stream is never cut inside a match."""
    joined = before + text + ahead
    end = len(before) + len(text)
    pieces: list[str] = []
    position = len(before)
    for match in pattern.finditer(joined, len(before)):
        if match.end() > end:
            break
        pieces += (joined[position : match.start()], replace(match))
        position = match.end()
    pieces.append(joined[position:end])
    return "".join(pieces)


def _json_escaped(value: str) -> str:
    # A value captured from inside a JSON string is stored in its escaped form already;
    # re-escaping it would double its backslashes.
    try:
        json.loads(f'"{value}"')
    except ValueError:
        return json.dumps(value, ensure_ascii=False)[1:-1]
    return value


class StreamRestorer:
    """Restores tokens in one streamed text channel (a choice's content, a tool call's arguments)."""

    def __init__(self, restorer: Restorer, *, json_string: bool = False) -> None:
        self._restorer = restorer
        self._json_string = json_string
        self._pending = ""
        # The last characters already restored, as written: whether a surrogate may start
        # right after them (after a letter, no; after a JSON escape such as \u00a0, yes).
        self._before = ""

    def feed(self, delta: str) -> str:
        """Text that can be shown now; a possible token or surrogate prefix is held back, and
        a part restored alone until what is joined to it has arrived."""
        text = self._pending + delta
        cut = self._surrogate_tail(text)
        if self._restorer.parts:
            cut = self._outside_surrogates(text, min(cut, self._part_tail(text)))
        if "<" in text or "[" in text or "&" in text:
            tail = PARTIAL_TOKEN_TAIL.search(text, max(0, len(text) - MAX_TOKEN_LENGTH))
            if tail:
                cut = min(cut, tail.start())
        ready, self._pending = text[:cut], text[cut:]
        restored = self._restorer.restore(
            ready, json_string=self._json_string, after=self._before, ahead=self._pending
        )
        self._before = (self._before + ready)[-_CONTEXT_CHARS:]
        return restored

    def _outside_surrogates(self, text: str, cut: int) -> int:
        """`cut`, or earlier: the start of a surrogate it would fall inside (a part held back
        may end a whole one, "Castillo" of "Ana Castillo")."""
        context, offset = self._before + text, len(self._before)
        start = max(0, cut - self._restorer.longest_surrogate + 1)
        while start < cut:
            found = self._restorer.match_at(context, offset + start, json_string=self._json_string)
            if found is not None and found.end() > offset + cut:
                cut, start = start, max(0, start - self._restorer.longest_surrogate + 1)
            else:
                start += 1
        return cut

    def _surrogate_tail(self, text: str) -> int:
        """Where a trailing possible surrogate (or a whole one that may still grow) starts."""
        prefixes = self._restorer.surrogate_prefixes
        sought = self._restorer.sought
        context = self._before + text
        # Underscores after a whole one may be emphasis, or the inside of an identifier.
        underscores = min(len(text) - len(text.rstrip("_")), _MAX_EMPHASIS)
        for length in range(min(len(text), self._restorer.longest_surrogate + underscores), 0, -1):
            start = len(text) - length
            tail = fold_case(text[start:])
            # Surrogates match whole words only.
            if (tail in prefixes or tail[: len(tail) - underscores] in sought) and self._restorer.may_start(
                context, len(self._before) + start, json_string=self._json_string
            ):
                return start
        return len(text)

    def _part_tail(self, text: str) -> int:
        """Where a part restored alone starts, if what is joined to it is still arriving: it
        decides whether the part is someone else's name or in an address."""
        joined = _OPEN_JOIN.search(text, max(0, len(text) - _CONTEXT_CHARS))
        if (
            joined is not None
            and fold_case(joined.group(1)) in self._restorer.parts
            and self._restorer.may_start(
                self._before + text, len(self._before) + joined.start(1), json_string=self._json_string
            )
        ):
            return joined.start(1)
        return len(text)

    def finish(self) -> str:
        """Everything still held back, at the end of the stream."""
        text, self._pending = self._pending, ""
        return self._restorer.restore(text, json_string=self._json_string, after=self._before)


# Enough of what came before to see a JSON escape (\u00a0) and the backslash before it,
# emphasis underscores, or the given name before a surname.
_CONTEXT_CHARS = 48
