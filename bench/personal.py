"""Fresh prose about people: new names, places, a street address and an email in every prompt.

What issue 3's latency targets are about: text a detection cache has never seen, written the
way people write to an assistant. `personal_prompt(size, seed)` is deterministic per seed and
different for every seed, so a run can send a new prompt with every request. Names come from
many cultures and are written as people write them (given name alone, full name, with a
title); the prose holds no abbreviation followed by ". ", so splitting at ". " finds sentences.
"""

from __future__ import annotations

import random
import unicodedata

GIVEN = (
    "Aoife", "Siobhan", "Oluwaseun", "Chidinma", "Kwame", "Ama", "Mohammed", "Fatima", "Priya",
    "Arjun", "Wei", "Mei", "Hiroshi", "Yuki", "Sven", "Ingrid", "José", "María", "Giulia", "Luca",
    "Katarzyna", "Piotr", "Mehmet", "Ayşe", "Aroha", "Tane", "Olga", "Dmitri", "Thi Lan", "Minh",
    "Jean-Luc", "Zoë", "Björn", "Nadia", "Tomás", "Leilani", "Rahul", "Ngozi", "Hamid", "Ji-woo",
    "Emily", "James", "Sarah", "Daniel", "Grace", "Oscar",
)  # fmt: skip
FAMILY = (
    "Okafor", "Nakamura", "Kowalski", "Fernández", "Rossi", "Müller", "Dubois", "Nguyen", "Chen",
    "Patel", "Haddad", "O'Brien", "Y\u0131lmaz", "Kim", "Andersson", "Mensah", "Ngata", "Ivanova",
    "Silva", "Schmidt", "Cohen", "Abdullah", "Sharma", "Tanaka", "Adeyemi", "Murphy", "García",
    "Novák", "Papadopoulos", "Van der Berg", "Kaur", "Takahashi", "Al-Farsi", "Walker", "Thompson",
    "Hughes", "Moreau", "Bianchi", "Lindqvist", "Osei",
)  # fmt: skip
TITLES = ("Mr", "Mrs", "Ms", "Dr")
CITIES = (
    "Leeds", "Lagos", "Osaka", "Kraków", "Porto", "Valencia", "Lyon", "Hamburg", "Utrecht",
    "Bologna", "Auckland", "Nairobi", "Toronto", "Chicago", "Melbourne", "Dublin", "Istanbul",
    "Hanoi", "Pune", "Seoul", "Gothenburg", "Accra", "Marseille", "Denver", "Cork", "Wellington",
)  # fmt: skip
COUNTRIES = (
    "Ireland", "Nigeria", "Japan", "Poland", "Portugal", "Spain", "France", "Germany", "Italy",
    "New Zealand", "Kenya", "Canada", "Australia", "Turkey", "Vietnam", "India", "Ghana", "Sweden",
)  # fmt: skip
COMPANIES = ("Northwind Logistics", "Blue Harbour Insurance", "Kestrel Dental", "Greenleaf Energy")

# Street addresses as written in seven countries: (street words, format).
ADDRESSES = (
    (("Maple Avenue", "Oak Street", "Lakeview Drive", "Cedar Lane"), "{n} {street}, Springfield, IL 627{d2}"),
    (("Kingsley Road", "Station Road", "Church Lane"), "{n} {street}, Leeds LS{d1} {d1}AB"),
    (("Lindenstraße", "Hauptstraße", "Gartenweg", "Schillerstraße"), "{street} {n}, 10{d3} Berlin"),
    (("rue des Lilas", "avenue Jean Jaurès", "rue Victor Hugo"), "{n} {street}, 690{d2} Lyon"),
    (("Keizersgracht", "Prinsengracht", "Kerkstraat"), "{street} {n}, 10{d2} CJ Amsterdam"),
    (("Calle Mayor", "Calle de Alcalá", "Avenida del Puerto"), "{street} {n}, 280{d2} Madrid"),
    (("Via Roma", "Via Garibaldi", "Corso Venezia"), "{street} {n}, 201{d2} Milano"),
)  # fmt: skip

# Sentences with slots; {p} is a person, {c} a city, {k} a country, {a} the address,
# {e} the email, {o} a company. Each prompt uses the address and the email sentence once.
PEOPLE = (
    "My neighbour {p} asked me to help her write to the landlord about the broken heating.",
    "I had a call with {p} yesterday and she thinks the contract can be signed next week.",
    "{p} from the accounts team says the invoice was paid twice by mistake.",
    "Could you draft a short thank-you note to {p} for looking after the dog while I was away?",
    "Last month {p} moved from {c} to {k} and still has not received the deposit back.",
    "Please remind {p} that the workshop starts at nine and that lunch is provided.",
    "I met {p} at the conference in {c}, and we talked about sharing the translation work.",
    "{p} wants to know whether the refund can go to a different bank account.",
    "My colleague {p} will cover my shifts while I visit family in {c}.",
    "Write a friendly reply to {p}, who complained that the parcel arrived late and damaged.",
    "{p} and I are planning a trip to {k} in the spring and need a rough budget.",
    "The landlord, {p}, has not answered any of my messages since the start of {k}'s holidays.",
)
PLACES = (
    "We are thinking of moving to {c} because the schools there are supposed to be good.",
    "The flight to {c} was cancelled, so the meeting moved online.",
    "Our supplier in {k} raised prices again, and the team in {c} wants to switch.",
    "The office in {c} closes early on Fridays during the summer.",
)
WITH_ADDRESS = (
    "The new address for all letters is {a}, and the old one should be removed.",
    "Please send the replacement to {a} instead of the office.",
    "My sister lives at {a} and will sign for the delivery.",
)
WITH_EMAIL = (
    "You can reach {p} at {e} if anything is unclear.",
    "Copy {e} on the reply so {p} sees it too.",
)
WITH_COMPANY = (
    "The policy is with {o}, and their claims desk keeps asking for the same documents.",
    "{o} sent a letter saying the account will be closed at the end of the month.",
)
FILLER = (
    "I would like the tone to be polite but firm.",
    "Keep it under two hundred words if you can.",
    "It does not need to be formal, just clear.",
    "There is no rush, but this week would be ideal.",
    "Please point out anything I might have forgotten.",
    "I am not sure whether I should mention the earlier complaint.",
)


def personal_prompt(size: int = 1024, seed: int = 0) -> str:
    """About `size` bytes (UTF-8) of prose: several people, places, one address, one email."""
    rng = random.Random(f"personal-{seed}")
    people = [_person(rng) for _ in range(3)]
    slots = {
        "c": lambda: rng.choice(CITIES),
        "k": lambda: rng.choice(COUNTRIES),
        "o": lambda: rng.choice(COMPANIES),
    }
    fixed = [
        rng.choice(WITH_ADDRESS).format(a=_address(rng)),
        rng.choice(WITH_EMAIL).format(p=people[0][0], e=_email(people[0][1], rng)),
    ]
    pool = [*PEOPLE, *PLACES, *WITH_COMPANY]
    rng.shuffle(pool)
    sentences: list[str] = []
    used = 0
    while sum(len(s.encode()) + 1 for s in sentences + fixed) < size:
        if used < len(pool):
            template = pool[used]
            used += 1
            person = people[used % len(people)][0]
            sentences.append(template.format(p=person, **{k: f() for k, f in slots.items()}))
        else:
            sentences.append(rng.choice(FILLER))
    for sentence in fixed:
        sentences.insert(rng.randrange(1, len(sentences) + 1), sentence)
    return " ".join(sentences)


def _person(rng: random.Random) -> tuple[str, tuple[str, str]]:
    """How the name is written in the prompt, and (given, family) for an email address."""
    given, family = rng.choice(GIVEN), rng.choice(FAMILY)
    written = rng.choice((f"{given} {family}", f"{given} {family}", given, f"{rng.choice(TITLES)} {family}"))
    return written, (given, family)


def _address(rng: random.Random) -> str:
    streets, shape = rng.choice(ADDRESSES)
    return shape.format(
        n=rng.randint(1, 240),
        street=rng.choice(streets),
        d1=rng.randint(1, 9),
        d2=f"{rng.randint(0, 99):02d}",
        d3=f"{rng.randint(0, 999):03d}",
    )


def _email(name: tuple[str, str], rng: random.Random) -> str:
    given, family = (_ascii(part) for part in name)
    return f"{given}.{family}{rng.randint(1, 99)}@example.{rng.choice(('com', 'org', 'net'))}"


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in folded.lower() if c.isalnum())
