"""The two detection tiers every figure is measured for: rule detectors alone, and rules + NER.

Over HTTP a tier is a `veil serve` with these environment overrides; in process it is the
analyzer `veil.app.build_analyzer` makes from the same settings, so both run what users run.
"""

from __future__ import annotations

from veil.app import build_analyzer
from veil.config import Settings
from veil.detect.analyzer import Analyzer

RULES = "rules only"
NER = "rules + NER"

# Environment overrides for `veil serve`. The NER tier is the default configuration.
SERVER_ENV: dict[str, dict[str, str]] = {RULES: {"VEIL_NER_MODEL": ""}, NER: {}}


# The optional stronger model (requirements/ner-model-md.txt), measured for quality beside the default.
MD = "rules + NER (en_core_web_md)"


def analyzer(tier: str) -> Analyzer:
    """The request side's analyzer for `tier`, from default settings (no veil.toml, no env)."""
    models = {RULES: "", NER: Settings.model_construct().ner_model, MD: "en_core_web_md"}
    return build_analyzer(Settings.model_construct(ner_model=models[tier]))
