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


def analyzer(tier: str) -> Analyzer:
    """The request side's analyzer for `tier`, from default settings (no veil.toml, no env)."""
    settings = Settings.model_construct(ner_model="") if tier == RULES else Settings.model_construct()
    return build_analyzer(settings)
