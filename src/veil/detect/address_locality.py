"""What follows a street in an address: units, city, region, postcode, country; and the
forms that are an address on their own: PO boxes, military mail, postcodes ("SW1A 1AA",
"Springfield, IL 62704")."""

from __future__ import annotations

import re

from veil.detect.address_words import (
    APOSTROPHES,
    CAP_WORD,
    COUNTRIES,
    FUNCTION_WORD_LIST,
    LOWER,
    UK_AREA_CODES,
    UPPER,
    US_STATE_NAMES,
    US_STATES,
)

FUNCTION_WORDS = frozenset(FUNCTION_WORD_LIST.split())
CA_PROVINCES = "AB|BC|MB|NB|NL|NS|NT|NU|ON|PE|QC|SK|YT"
ZIP = r"[0-9]{5}(?:-[0-9]{4})?(?![0-9])"
UK_POSTCODE = r"(?:[A-Z]{1,2}[0-9][A-Z0-9]?|GIR)[ \t]?[0-9][ABD-HJLNP-UW-Z]{2}(?![\w])"
CA_POSTCODE = r"[ABCEGHJ-NPRSTVXY][0-9][ABCEGHJ-NPRSTV-Z][ \t]?[0-9][ABCEGHJ-NPRSTV-Z][0-9](?![\w])"
EU_POSTCODE = (
    r"(?:(?:[A-Z]{1,2}-)?[0-9]{5}|(?:[A-Z]{1,2}-)?[0-9]{4}(?:[ \t]?[A-Z]{2}(?![\w]))?"
    r"|[0-9]{3}[ \t][0-9]{2}|[0-9]{2}-[0-9]{3}|[0-9]{4}-[0-9]{3})(?![0-9])"
)
CITY_JOIN = (
    r"(?:[ \t]*-[ \t]*|[ \t]+(?:(?:de|la|le|les|sur|sous|en|am|an|der|im|bei|del|di|do|dos|da|das|du|"
    r"na|nad|pod|pri|u|upon|on)"
    r"[ \t]+)?)"
)
CITY = rf"{CAP_WORD}(?:{CITY_JOIN}{CAP_WORD}){{0,3}}(?![\w{APOSTROPHES}\-])"
# A line break, and what a mail client or a paste may put at the start of the next line
# ("> " quoting, "}}", or "???" where a bullet or a non-breaking space did not survive).
NL = r"\r?\n[ \t]*(?:[?}>|]{1,3}[ \t]*)?"
SEP = rf"(?:[ \t]*,[ \t]*|[ \t]*{NL}|[ \t]+)"
COMMA_OR_LINE = rf"(?:[ \t]*,[ \t]*(?:{NL})?|[ \t]*{NL})"

UNIT = re.compile(
    rf"{SEP}(?:(?i:apt|apartment|apartament|appt|app|suite|ste|unit|flat|fl|floor|room|rm|bldg|building|"
    rf"piso|puerta|pta|planta|escalera|esc|scala|int|interno|étage|etage|bus|stiege|stock|tür|top|whg|"
    rf"wohnung|lgh|lejl)(?:\.|(?=[ \t#0-9]))[ \t]*(?:#|no\.?|n[º°]\.?)?[ \t]*[0-9A-Za-z][\w\-]{{0,5}}"
    rf"|#[ \t]*[0-9][\w\-]{{0,5}}"
    rf"|[0-9]{{1,2}}(?:[º°ª]|st|nd|rd|th)[ \t]*(?i:floor|fl\.?)"
    rf"|[0-9]{{1,2}}[º°ª](?:[ \t]*(?:[0-9]{{1,2}}[ºª]|(?i:izq(?:uierda)?|dcha|dch|der(?:echa)?|centro|"
    rf"ctro|int|ext)|[A-H])(?![\w]))?\.?"
    rf"|(?i:bajo|entresuelo|ático|atico)(?![\w])(?:[ \t]+[A-H](?![\w]))?)(?![\w])\.?"
)
LOCALITY = re.compile(
    rf"(?:{SEP}(?P<us>{CITY},?[ \t]+(?:{US_STATES}|{US_STATE_NAMES})[ \t]+{ZIP})"
    rf"|{SEP}(?P<state>(?:{US_STATES})[ \t]+{ZIP})"
    rf"|{SEP}(?P<military>(?:APO|FPO|DPO)[ \t]+(?:AA|AE|AP)[ \t]+[0-9]{{5}}(?![0-9]))"
    rf"|{SEP}(?P<region_code>{CITY},?[ \t]+(?:[A-Z]{{2}}|[0-9]{{2}})[ \t]+[0-9]{{4,6}}(?![0-9]))"
    rf"|{SEP}(?P<eu>{EU_POSTCODE}[ \t]+{CITY})"
    rf"|{SEP}(?P<uk>(?:{CITY},?[ \t]+)?{UK_POSTCODE})"
    rf"|{SEP}(?P<ca>{CITY},?[ \t]+(?:(?:{CA_PROVINCES})[ \t]+)?{CA_POSTCODE})"
    rf"|{COMMA_OR_LINE}(?P<country>(?:{COUNTRIES})(?:[ \t]+[0-9]{{4,6}}(?![0-9]))?)(?![\w])"
    rf"|[ \t]*(?:{NL}){{2}}(?P<far_country>(?:{COUNTRIES})[ \t]+[0-9]{{4,6}}(?![0-9]))(?![\w])"
    rf"|[ \t]*{NL},[ \t]*(?P<line_region>[A-Z]{{2,3}}|[0-9]{{1,2}})(?![\w])"
    rf"|[ \t]*{NL}(?P<line_zip>{EU_POSTCODE})(?=[ \t]*(?:\r?\n|\Z|[.,;!?]))"
    # A bare zip is not followed by more digits: "\n09721 88 29 47" is a phone number.
    rf"|{SEP}(?P<zip>{ZIP})(?![ \t]*[0-9])"
    rf"|[ \t]*,[ \t]*(?P<city>{CITY})(?:[ \t]*,[ \t]*(?P<region>[A-Z]{{2,3}})(?![\w]))?"
    rf"|[ \t]*{NL}(?P<line_city>{CITY}(?:[ \t]+[0-9]{{1,2}}(?![\w]))?)(?=[ \t]*(?:,[ \t]*)?"
    rf"(?:{NL}){{0,2}}(?:,[ \t]*)?(?:{COUNTRIES}|{EU_POSTCODE}|{UK_POSTCODE}|(?:{US_STATES})[ \t]+{ZIP}"
    rf"|(?:[A-Z]{{2,3}}|[0-9]{{1,2}})(?![\w]))))"
)
# After a unit, the city (and region or country) often follow with no comma:
# "Suite 303 Kaiata Greymouth", "Apt. 542 KÖTTMANNSDORF Austria".
AFTER_UNIT = re.compile(
    rf"[ \t]+(?P<city>{CITY})(?:[ \t]+[0-9]{{1,2}}(?=[ \t]+[{UPPER}]))?"
    rf"(?:[ \t]+{CITY})?(?:[ \t]+\([{UPPER}][{LOWER}]+\))?"
)
# Staircase and flat right after a house number (FI, SE, DK: "Mannerheimintie 5 A 12").
STAIRCASE = re.compile(r"[ \t]+[A-H][ \t]?[0-9]{1,3}(?![\w])")
US_HINT = re.compile(r",[ \t]+[A-Z]{2}[ \t]+[0-9]{5}")
CA_HINT = re.compile(r"[0-9][A-Z][ \t]?[0-9][A-Z][0-9]")
UK_HINT = re.compile(r"[0-9][ABD-HJLNP-UW-Z]{2}(?![\w])")
STANDALONE_US = re.compile(rf"(?<![\w])(?:{CITY}),[ \t]+(?:{US_STATES})[ \t]+{ZIP}")
STANDALONE_UK = re.compile(rf"(?<![\w]){UK_POSTCODE}")
STANDALONE_CA = re.compile(rf"(?<![\w])(?:{CITY},?[ \t]+(?:{CA_PROVINCES})[ \t]+)?{CA_POSTCODE}")
UK_AREAS = frozenset(UK_AREA_CODES.split())


PO_BOX = re.compile(
    r"(?<![\w])(?:"
    r"(?i:p\.?[ \t]?o\.?[ \t]?box|post[ \t]+office[ \t]+box|postbox|po[ \t]+box)[ \t]*#?[ \t]*[0-9]{1,7}"
    r"|Postfach[ \t]+[0-9]{1,6}(?:[ \t][0-9]{2}){0,3}"
    r"|(?i:apartado(?:[ \t]+de[ \t]+correos)?|apdo\.?)[ \t]+[0-9]{1,6}"
    r"|(?i:postbus|postboks|boîte[ \t]+postale|casella[ \t]+postale|caixa[ \t]+postal)[ \t]+[0-9]{1,6}"
    r"|(?:PSC|CMR|Unit)[ \t]+[0-9]{1,5},?[ \t]+Box[ \t]+[0-9]{1,5}"
    r"|(?:USS|USNS|USNV|USCGC)[ \t]+[A-Z][\w\-]*(?:[ \t][A-Z][\w\-]*){0,2}(?=[ \t]*[\n,][ \t]*FPO)"
    r")"
)

BOX_WORDS = (
    "box",
    "postfach",
    "apartado",
    "apdo",
    "postbus",
    "postboks",
    "postale",
    "postal",
    "uss ",
    "usns ",
    "usnv ",
    "uscgc ",
)

MILITARY = re.compile(r"(?<![\w])(?:APO|FPO|DPO)[ \t]+(?:AA|AE|AP)[ \t]+[0-9]{5}(?![0-9])")


def locality_refused(match: re.Match[str]) -> bool:
    """A comma followed by a word that starts a clause, not a city ("..., But I moved")."""
    city = match.group("city") or match.group("line_city")
    return city is not None and city.split()[0].lower() in FUNCTION_WORDS


def uk_area(postcode: str) -> str:
    return postcode[:2] if postcode[1].isalpha() else postcode[:1]
