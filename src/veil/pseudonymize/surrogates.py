"""Realistic stand-ins: a fake value of the same kind and format for a real one.

A surrogate reads like the real thing to a model (a name, a Luhn-valid card number, an
IBAN with a valid checksum, a phone number with the same layout), so answers stay
natural, yet it is drawn from ranges reserved for fiction or documentation wherever such
ranges exist: example.com/.net/.org mail domains, 555-01xx US numbers, TEST-NET IPv4 and
2001:db8:: IPv6 addresses, 9xx SSN areas (never issued), card numbers under the 4000 00
test prefix. Names come from the census lists Veil ships for detection, and only names
that are nothing else: the restorer finds a surrogate wherever its words stand whole in a
reply, so a stand-in "Don" or "Mark" would turn "Don't" and "mark the box" into the real
name. Given names and surnames that are also everyday words (the curated lists beside the
census ones, and `_NOT_ONLY_NAMES` here), function words, places, brands, units or common
terms are never used, nor names shorter than three letters.

Surrogates are generated from (entity type, ordinal, scope secret): the vault hands out
ordinals, so within a scope each value gets its own surrogate, the same one every time.
Types without a generator fall back to tokens.
"""

from __future__ import annotations

import hmac
import ipaddress
import random
import re
from collections.abc import Callable, Sequence
from functools import cache

from veil.detect.wordlist import data_words
from veil.pseudonymize.tokens import format_token

_DIGIT = re.compile(r"\d")
_DIGITS = "0123456789"
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class Surrogates:
    """Makes the surrogate for the n-th value of a type in a scope; a TokenStyle for the vault."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def supports(self, entity_type: str) -> bool:
        return entity_type in _MAKERS

    def make(self, scope: str, entity_type: str, ordinal: int, value: str) -> str:
        maker = _MAKERS.get(entity_type)
        if maker is None:
            return format_token(entity_type, ordinal)
        seed = hmac.digest(self._secret, f"{scope}\0{entity_type}\0{ordinal}".encode(), "sha256")
        return maker(random.Random(seed), value, ordinal)


def name_parts(fake: str, real: str) -> tuple[tuple[str, str], ...]:
    """The (fake word, real word) pairs a made two-word name stands for: its given name for
    the real name's first word, its surname for the last. Empty for any other value (a
    single given name, an address, a card number), and for a name with a word the lists no
    longer offer (a stand-in made before, "Lorenzo Dale"): that word may be an everyday one."""
    words, real_words = fake.split(), real.split()
    if len(words) != 2 or len(real_words) < 2:
        return ()
    given, surname = words
    if given.lower() not in _given_names() or surname.lower() not in _surnames():
        return ()
    return ((given, real_words[0]), (surname, real_words[-1]))


def _person(rng: random.Random, value: str, ordinal: int) -> str:
    words = value.split()
    real = {word.lower() for word in words}
    first, last = _other(rng, _given_names(), real), _other(rng, _surnames(), real)
    if len(words) == 1:
        # One word in, one word out: a given name stays a given name.
        return _case_like(words[0], first)
    return f"{_case_like(words[0], first)} {_case_like(words[-1], last)}"


def _email(rng: random.Random, value: str, ordinal: int) -> str:
    real = set(re.findall(r"[a-z]+", value.lower()))
    first, last = _other(rng, _given_names(), real), _other(rng, _surnames(), real)
    domain = rng.choice(("example.com", "example.net", "example.org"))
    return f"{first}.{last}{ordinal}@{domain}"


def _phone(rng: random.Random, value: str, ordinal: int) -> str:
    digits = _DIGIT.findall(value)
    country = re.match(r"\s*\+(\d{1,3})(?!\d)", value)
    keep = len(country.group(1)) if country else 1 if value.lstrip().startswith("+") else 0
    rest = len(digits) - keep
    fresh = [str(rng.randrange(2, 10))] + [str(rng.randrange(10)) for _ in range(rest - 1)]
    if rest >= 7:
        # 555-01xx: the exchange and lines North American numbering keeps for fiction.
        fresh[-7:] = [*"555", *f"01{ordinal % 100:02d}"]
    return _with_digits(value, digits[:keep] + fresh)


def _card(rng: random.Random, value: str, ordinal: int) -> str:
    digits = _DIGIT.findall(value)
    body = list("400000") + [str(rng.randrange(10)) for _ in range(len(digits) - 7)]
    return _with_digits(value, [*body, _luhn_digit(body)])


def _ssn(rng: random.Random, value: str, ordinal: int) -> str:
    # Area numbers 900-999 are never issued.
    fake = f"9{rng.randrange(100):02d}{rng.randrange(1, 100):02d}{rng.randrange(1, 10000):04d}"
    if len(_DIGIT.findall(value)) == len(fake):
        return _with_digits(value, fake)
    return f"{fake[:3]}-{fake[3:5]}-{fake[5:]}"


def _iban(rng: random.Random, value: str, ordinal: int) -> str:
    compact = re.sub(r"\s", "", value).upper()
    country, bban = compact[:2], compact[4:]
    fake = "".join(rng.choice(_DIGITS if c.isdigit() else _LETTERS) for c in bban)
    numeric = "".join(str(int(c, 36)) for c in fake + country + "00")
    check = f"{98 - int(numeric) % 97:02d}"
    out = country + check + fake
    if " " in value.strip():
        return " ".join(out[i : i + 4] for i in range(0, len(out), 4))
    return out


def _ip(rng: random.Random, value: str, ordinal: int) -> str:
    try:
        version = ipaddress.ip_address(value.strip("[]")).version
    except ValueError:
        version = 4
    if version == 6:
        return str(ipaddress.IPv6Address(int(ipaddress.IPv6Address("2001:db8::")) + ordinal))
    network = rng.choice(("192.0.2", "198.51.100", "203.0.113"))
    return f"{network}.{1 + ordinal % 254}"


_MAKERS: dict[str, Callable[[random.Random, str, int], str]] = {
    "PERSON": _person,
    "EMAIL_ADDRESS": _email,
    "PHONE_NUMBER": _phone,
    "CREDIT_CARD": _card,
    "US_SSN": _ssn,
    "IBAN_CODE": _iban,
    "IP_ADDRESS": _ip,
}


def _with_digits(template: str, digits: Sequence[str]) -> str:
    """`template` with its digits replaced, in order, by `digits` (layout kept)."""
    replacements = iter(digits)
    return _DIGIT.sub(lambda _: next(replacements), template)


def _luhn_digit(body: Sequence[str]) -> str:
    total = 0
    for position, char in enumerate(reversed(body)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def _other(rng: random.Random, names: Sequence[str], real: set[str]) -> str:
    """A name drawn from `names` that is none of the real value's words: "Linda Smith" must
    not go out as "Linda Moreno", which would send half the real name and leave "Linda" in
    a reply nothing to restore."""
    while (name := rng.choice(names)) in real:
        pass
    return name


def _case_like(original: str, name: str) -> str:
    if original.isupper() and len(original) > 1:
        return name.upper()
    if original.islower():
        return name.lower()
    return name.title()


def _given_names() -> tuple[str, ...]:
    return _names("first_names.txt")


def _surnames() -> tuple[str, ...]:
    return _names("surnames.txt")


@cache
def _names(file: str) -> tuple[str, ...]:
    """The first thousand names of a census list (common enough to read as ordinary names),
    less those that are also something else."""
    not_only_names = _NOT_ONLY_NAMES.union(
        *map(
            data_words,
            ("common_word_names.txt", "never_alone_names.txt", "not_name_words.txt", "countries.txt"),
        )
    )
    return tuple(
        name
        for name in data_words(file)[:1000]
        if len(name) >= 3 and name.isalpha() and name not in not_only_names
    )


# Among the thousand most frequent census given names and surnames, those the curated lists
# leave (they serve detection, which has other needs) that a reply may well use as a word,
# a place, a brand, a unit or a term: white, cook, price ("Price said" and "the price");
# Florence, Austin, Washington; Wendy's, Tiffany, Levi's; Kelvin, Watts, Newton; Taylor
# (series), Singleton, Huffman, Claude, LoRA. Also surnames whose apostrophe or space
# the census dropped (obrien, delacruz), which no one writes that way.
_NOT_ONLY_NAME_WORDS = """
    alberta alfredo allen alma angelica antonio austin blanche bobby brad brent brittany cassandra
    charlie charlotte clara claude constance derrick dixie florence francisco guadalupe harry
    hector henry homer ira jane jean jesus jimmy joe joey john jordan jose josh julian karen kelvin
    ken leo levi lora lorraine louis lourdes margarita marguerite matt melba mike miranda molly
    morgan myrtle nick noel norman ora oscar pam patsy patty regina rex sally stanley taylor ted
    tiffany tony vera victor victoria wendy
    baker ball banks barber bass battle beach bean beard bender bird black bond booker booth bowers
    branch bray brewer bridges bright brown browning burns bush butler cannon carpenter carver case cash
    chambers church colon combs cook cotton cox craft crane cross curry dalton davenport day decker
    dejesus delacruz deleon downs drake dyer english farmer fields finch fisher flowers ford foreman
    fox franks frost fry fuller gamble garner garrison gates gentry gibbs gill glass good graves
    gray green griffin gross hale hall hamilton hancock hardy head herring hicks hill holland hood
    hoover hopper horn house huff huffman hull hunt justice key king knight lamb leach levy little lynch
    madden manning marks marsh maxwell mayo mcdonald meadows mills moody morrow morse moss nash
    newton obrien oconnor odonnell oneal oneil oneill pace park parks parsons pate peck peters
    petty pierce pope potter powers price rhodes rice riddle rivers roach roth rush sanders savage
    sears sellers sharp shepherd shields short singleton skinner small snow sparks spears stark
    stein stokes stone stout strong summers sweet walker wall walls ware washington waters watts
    weaver weber weeks wells west wheeler white whitehead wilder winters wise wolf wood woods
    workman yang york young
"""
_NOT_ONLY_NAMES = frozenset(_NOT_ONLY_NAME_WORDS.split())
