"""A word list as one regular expression.

A plain alternation of thousands of words makes `re` try every word at every position;
the same words arranged as a trie (shared prefixes factored out) fail fast on the first
character that no word continues with.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from importlib.resources import files
from typing import TypeAlias

_Trie: TypeAlias = dict[str, "_Trie"]


def trie_pattern(words: Iterable[str]) -> str:
    """The words as one regex alternation shaped as a trie; a space matches any run of blanks."""
    root: _Trie = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}
    return _pattern(root)


def _pattern(node: _Trie) -> str:
    branches = [
        (r"[ \t]+" if char == " " else re.escape(char)) + _pattern(child)
        for char, child in sorted(node.items())
        if char
    ]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{body})?" if "" in node else body


def data_words(name: str) -> list[str]:
    """The words of a shipped list in `veil/detect/data`: whitespace-separated, `#` starts a comment."""
    text = files("veil.detect").joinpath("data").joinpath(name).read_text(encoding="utf-8")
    words: list[str] = []
    for line in text.splitlines():
        words.extend(line.split("#", 1)[0].split())
    return words
