"""What is measured: the targets, how each is started, and the peer that could not run here.

A target is a base URL that speaks the OpenAI chat API, and the ports of the processes whose
memory is its cost (LiteLLM's guardrail counts the Presidio service it calls).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from bench.peers.servers import LITELLM_VERSION, Server, litellm_proxy, presidio_proxy
from bench.processes import VeilServer
from bench.tiers import NER, RULES, SERVER_ENV

DIRECT = "no gateway (direct)"
VEIL_RULES = "Veil, rules only"
VEIL_NER = "Veil, rules + NER"
PRESIDIO = "Presidio, analyzer + anonymizer"
LITELLM = "LiteLLM proxy, no guardrail"
LITELLM_PRESIDIO = "LiteLLM + Presidio guardrail"
GATEWAYS = (VEIL_RULES, VEIL_NER, PRESIDIO, LITELLM, LITELLM_PRESIDIO)
# The gateways that claim to keep values from the upstream (LiteLLM alone is the proxy's cost).
MASKING = (VEIL_RULES, VEIL_NER, PRESIDIO, LITELLM_PRESIDIO)

WHAT = {
    DIRECT: "the client calls the fake upstream itself",
    VEIL_RULES: "`veil serve`, `VEIL_NER_MODEL=` (empty)",
    VEIL_NER: "`veil serve`, defaults (en_core_web_sm 3.8.0, NER only)",
    PRESIDIO: "presidio-analyzer + presidio-anonymizer 2.2.366 in a minimal proxy "
    "(`bench/peers/presidio_proxy.py`), same en_core_web_sm 3.8.0",
    LITELLM: f"`litellm --config` {LITELLM_VERSION}, one model routed to the fake upstream",
    LITELLM_PRESIDIO: f"the same LiteLLM {LITELLM_VERSION} with `guardrail: presidio`, `mode: pre_call`, "
    "`output_parse_pii: true`, calling Presidio's analyzer and anonymizer routes "
    "(`bench/peers/presidio_service.py`, same engines and model)",
}

NOT_RUN = {
    "LLM Guard 0.3.16 (Anonymize / Deanonymize)": (
        "does not run offline. `Anonymize(vault)` loads a transformers token-classification model "
        "from the Hugging Face hub at run time (default `Isotonic/deberta-v3-base_finetuned_ai4privacy_v2`; "
        "every configuration it offers names a hub model), and its analyzer calls `spacy download` "
        "for `en_core_web_sm` and `zh_core_web_sm` unless packages of exactly those names are installed. "
        "Tried here: `pip install llm-guard==0.3.16` succeeds (5.9 GB: torch 2.14 with CUDA 13 wheels), "
        "then `Anonymize(Vault())` fails with `OSError: We couldn't connect to 'https://huggingface.co'` "
        "after 5 retries (52 s); with `HF_HUB_OFFLINE=1` it fails the same way at once. Not installed by "
        "`make bench-peers`."
    ),
}


@dataclass(frozen=True)
class Target:
    name: str
    url: str
    ports: tuple[int, ...]


def start(
    name: str, stack: contextlib.ExitStack, upstream_url: str, master_key: str, presidio: Server
) -> Target:
    """Start gateway `name` in front of `upstream_url`; it stops when `stack` closes."""
    if name in (VEIL_RULES, VEIL_NER):
        veil = stack.enter_context(VeilServer(upstream_url, SERVER_ENV[RULES if name == VEIL_RULES else NER]))
        return Target(name, veil.url, (veil.port,))
    if name == PRESIDIO:
        server = stack.enter_context(presidio_proxy(upstream_url))
        return Target(name, server.url, (server.port,))
    if name == LITELLM:
        server = stack.enter_context(litellm_proxy(upstream_url, master_key, None))
        return Target(name, server.url, (server.port,))
    if name == LITELLM_PRESIDIO:
        server = stack.enter_context(litellm_proxy(upstream_url, master_key, presidio.url))
        return Target(name, server.url, (server.port, presidio.port))
    raise ValueError(name)
