"""The texts the benchmark sends and streams: plain prose with realistic PII mixed in.

Deterministic (a fixed seed), so runs are comparable. Per KB of prompt there are about
two emails, two phone numbers and one card number, each inside an ordinary sentence.
"""

from __future__ import annotations

import random

PROSE = (
    "The quarterly review covered shipping delays and the new returns policy.",
    "Support should escalate any ticket that mentions billing to the finance team.",
    "Everyone agreed to revisit the onboarding plan at the start of next month.",
    "The warehouse in the north moved to a later shift during the summer.",
    "Customers keep asking whether gift wrapping can be added after checkout.",
    "Please keep the tone friendly and avoid promising exact delivery dates.",
    "The last survey showed that most people prefer email over phone calls.",
    "A short apology goes a long way when an order arrives damaged.",
    "Refunds are processed within a few business days once the item is back.",
    "We are still waiting for the carrier to confirm the new pickup window.",
)
EMAILS = (
    "jane.doe@example.com",
    "m.rossi@example.org",
    "kim.park@example.net",
    "ops-team@example.co.uk",
    "li.wei+orders@example.com",
)
PHONES = ("(415) 555-2671", "+1 212-555-0187", "+44 20 7946 0958", "415.555.0199", "+1 (646) 555-0142")
CARDS = ("4111 1111 1111 1111", "5555 5555 5555 4444", "4242-4242-4242-4242", "6011 1111 1111 1117")
WITH_EMAIL = (
    "Please send the invoice to {} before Friday.",
    "She asked us to copy {} on every reply.",
)
WITH_PHONE = (
    "The courier can be reached on {} during the day.",
    "If nobody answers, call {} and leave a message.",
)
WITH_CARD = ("The customer wants the refund on the card {} instead.",)

# What the fake upstream answers: tokens of values the prompt carried, as a model would.
REPLY_TEXT = "Done. I updated the record for <EMAIL_ADDRESS_1> and will call <PHONE_NUMBER_1> tomorrow."
_REPLY = (
    "Thanks for the details. I have checked the order history and the shipping notes, and the "
    "parcel left the warehouse on time but was held by the carrier for a missing address line. "
    "I will send a confirmation to <EMAIL_ADDRESS_1> and, if anything changes, call <PHONE_NUMBER_1> "
    "before noon. The refund of 42 euros goes back to <CREDIT_CARD_1> within 5 business days."
)


def prose(size: int, seed: int = 1) -> str:
    """About `size` bytes of prose without any PII."""
    rng = random.Random(seed)
    sentences: list[str] = []
    while sum(len(s) + 1 for s in sentences) < size:
        sentences.append(rng.choice(PROSE))
    return " ".join(sentences)[:size]


def pii_prompt(size: int, seed: int = 1, fresh: int | None = None) -> str:
    """About `size` bytes of prose with ~2 emails, ~2 phones and ~1 card per KB.

    With `fresh`, the values are new ones derived from that number, so a vault must mint
    tokens for them instead of finding existing ones.
    """
    rng = random.Random(seed)
    sentences: list[str] = []
    length = 0
    position = 0
    while length < size:
        # One value sentence per ~200 bytes: five per KB.
        if length // 200 >= position:
            sentences.append(_value_sentence(rng, position, fresh))
            position += 1
        else:
            sentences.append(rng.choice(PROSE))
        length += len(sentences[-1]) + 1
    return " ".join(sentences)


def _value_sentence(rng: random.Random, position: int, fresh: int | None) -> str:
    kind = ("email", "phone", "card", "email", "phone")[position % 5]
    if kind == "email":
        value = f"user{fresh}.{position}@example.com" if fresh is not None else rng.choice(EMAILS)
        return rng.choice(WITH_EMAIL).format(value)
    if kind == "phone":
        value = f"(415) 555-{(fresh * 7 + position) % 10000:04d}" if fresh is not None else rng.choice(PHONES)
        return rng.choice(WITH_PHONE).format(value)
    value = _card(fresh * 100 + position) if fresh is not None else rng.choice(CARDS)
    return rng.choice(WITH_CARD).format(value)


def _card(number: int) -> str:
    """A Luhn-valid 16-digit Visa-shaped number derived from `number`."""
    digits = [int(d) for d in f"4{number % 10**14:014d}"]
    total = 0
    for i, digit in enumerate(reversed(digits)):
        doubled = digit * 2 if i % 2 == 0 else digit
        total += doubled - 9 if doubled > 9 else doubled
    digits.append((10 - total % 10) % 10)
    text = "".join(map(str, digits))
    return " ".join(text[i : i + 4] for i in range(0, 16, 4))


def reply_deltas(count: int) -> list[str]:
    """`count` word-sized deltas of a reply; tokens are split the way tokenizers split them."""
    pieces: list[str] = []
    for word in _REPLY.split():
        if word.startswith("<"):
            # " <", "EMAIL", "_ADDRESS", "_1>", then any punctuation
            name, _, rest = word[1:].partition(">")
            head, _, number = name.rpartition("_")
            first, *others = head.split("_")
            pieces += [" <", first, *(f"_{o}" for o in others), f"_{number}>" + rest]
        else:
            pieces.append(" " + word)
    pieces[0] = pieces[0].lstrip()
    return [pieces[i % len(pieces)] for i in range(count)]


def prose_deltas(count: int) -> list[str]:
    """`count` word-sized deltas of plain prose: no digits, no tokens."""
    words = " ".join(PROSE)
    return [" " + words[i % len(words)] for i in range(count)]
