"""Request side: replace every detected value as the policy says: with its token for the
scope, a surrogate, a redaction marker, a mask or a keyed hash; or refuse the request."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from veil.detect.base import TextAnalyzer, TooMuchText
from veil.errors import Blocked, DetectionFailed, PayloadTooLarge, VaultUnavailable
from veil.policy.document import Action, TenantPolicy
from veil.pseudonymize.operators import keyed_hash, mask, redact
from veil.pseudonymize.surrogates import Surrogates
from veil.pseudonymize.vault import TOKENS, Vault


@dataclass(slots=True)
class Pseudonymized:
    """The rewritten texts; what was replaced, by entity type (counts only) and the action
    taken for each type; and the surrogates used, to be restored in the reply."""

    texts: list[str]
    counts: Counter[str] = field(default_factory=Counter)
    actions: dict[str, Action] = field(default_factory=dict)
    surrogates: dict[str, str] = field(default_factory=dict)


class Pseudonymizer:
    """Finds values with the analyzer and replaces them as the tenant's policy says.

    Without a policy every value gets its token. `hash_secret` keys the `hash` action;
    `surrogates` makes the `surrogate` action's stand-ins.
    """

    def __init__(
        self,
        analyzer: TextAnalyzer,
        vault: Vault,
        *,
        surrogates: Surrogates | None = None,
        hash_secret: bytes = b"",
    ) -> None:
        self._analyzer = analyzer
        self._vault = vault
        self._surrogates = surrogates
        self._hash_secret = hash_secret

    def prefetch(self, texts: Sequence[str], analyzer: TextAnalyzer | None = None) -> None:
        """Analyse `texts` now (for the analyzer's cache); nothing is minted or returned."""
        (analyzer or self._analyzer).analyze_many(list(dict.fromkeys(texts)))

    def pseudonymize(
        self,
        scope: str,
        texts: Sequence[str],
        policy: TenantPolicy | None = None,
        analyzer: TextAnalyzer | None = None,
    ) -> Pseudonymized:
        """Rewrite `texts`, minting all of the request's tokens in one vault call per style.

        `analyzer` replaces the default one (a tenant's own detectors and lists).
        Raises Blocked when the policy blocks a type found, DetectionFailed or
        VaultUnavailable when a check cannot run: the caller must then forward nothing.
        """
        unique = list(dict.fromkeys(texts))
        try:
            found = (analyzer or self._analyzer).analyze_many(unique)
        except TooMuchText as exc:
            raise PayloadTooLarge(
                f"The request holds {exc.chars} characters of text not seen before; Veil checks at most "
                f"{exc.limit} per request (VEIL_NER_MAX_CHARS). Send less text at once."
            ) from exc
        except Exception as exc:
            raise DetectionFailed("A privacy check could not run; the request was not forwarded.") from exc
        spans_by_text = {
            text: [s for s in spans if policy is None or s.score >= policy.threshold_for(s.entity_type)]
            for text, spans in zip(unique, found, strict=True)
        }

        items: dict[str, str] = {}
        for text, spans in spans_by_text.items():
            for span in spans:
                items.setdefault(text[span.start : span.end], span.entity_type)
        if not items:
            return Pseudonymized(list(texts))
        actions = {kind: self._action(policy, kind) for kind in set(items.values())}
        blocked = sorted(kind for kind, action in actions.items() if action == "block")
        if blocked:
            raise Blocked(blocked)

        replacement = self._replacements(scope, items, actions)
        counts: Counter[str] = Counter()
        rewritten = []
        for text in texts:
            spans = [s for s in spans_by_text[text] if actions[items[text[s.start : s.end]]] != "allow"]
            if not spans:
                rewritten.append(text)
                continue
            pieces = []
            position = 0
            for span in spans:
                pieces.append(text[position : span.start])
                pieces.append(replacement[text[span.start : span.end]])
                position = span.end
                counts[span.entity_type] += 1
            pieces.append(text[position:])
            rewritten.append("".join(pieces))
        surrogates = {
            replacement[value]: value for value, kind in items.items() if actions[kind] == "surrogate"
        }
        # Every type found and what was done with it, `allow` included: the audit shows both.
        return Pseudonymized(rewritten, counts, actions, surrogates)

    def _action(self, policy: TenantPolicy | None, entity_type: str) -> Action:
        action = "pseudonymize" if policy is None else policy.action_for(entity_type)
        if action == "surrogate" and (self._surrogates is None or not self._surrogates.supports(entity_type)):
            return "pseudonymize"  # no realistic stand-in for this type: a token is the safe fallback
        return action

    def _replacements(self, scope: str, items: dict[str, str], actions: dict[str, Action]) -> dict[str, str]:
        replacement: dict[str, str] = {}
        for style, action in ((TOKENS, "pseudonymize"), (self._surrogates, "surrogate")):
            values = [value for value, kind in items.items() if actions[kind] == action]
            if not values or style is None:
                continue
            try:
                tokens = self._vault.tokens_for(scope, [(items[value], value) for value in values], style)
            except Exception as exc:
                raise VaultUnavailable(
                    "The token vault is unavailable; the request was not forwarded."
                ) from exc
            replacement.update(zip(values, tokens, strict=True))
        for value, kind in items.items():
            action = actions[kind]
            if action == "redact":
                replacement[value] = redact(kind)
            elif action == "mask":
                replacement[value] = mask(value)
            elif action == "hash":
                replacement[value] = keyed_hash(self._hash_secret, scope, kind, value)
        return replacement
