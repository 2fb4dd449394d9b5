"""Street addresses: house number, street name and street type, then unit, city and postcode.

NER never covers a whole address (the house number and postcode slip through), so this
rule layer finds the street itself and then follows the address as far as it goes, to
keep the span one piece from the house number to the postcode.

The street, by how each language writes it:
- number first, type last (EN): "221B Baker Street", "1600 Pennsylvania Ave NW",
  "42 oak st" (lowercase only with a common type word and no function words in the name);
- number, then type, then name (FR, and ES/IT/PT when written so): "12 rue de la Paix",
  "12, rue des Lilas", "8 bis avenue Foch";
- type, name, then number (ES, IT, PT, PL, RO, BE/CH French): "Calle Mayor 10",
  "C/ Alcalá 45", "Via dei Mille 12", "Rua Bela Vista 794", "ul. Długa 5";
- name ending in a street word, then number (DE, NL, Nordic, FI, HU...): "Hauptstraße 5",
  "Keizersgracht 123", "Berliner Straße 5a", "Kossuth Lajos utca 12", "Ørbækvej 96";
- after an address cue ("address:", "I live at", "ship to") any "Name 12" or "12 Name".
PO boxes are streets too: "P.O. Box 123", "PO Box 123", "Postfach 10 20 30", "Apartado de
Correos 12", "Postbus 123", military "PSC 3412, Box 5242" and "APO AE 09012".

What follows a street is taken while it reads as part of the address, on the same line,
after a comma, or on the next lines of an address block: units ("Apt 4B", "Suite 200",
"Flat 3", "2º izq."), a US "City, ST 12345[-6789]", a European "10115 Berlin" / "1016 GV
Amsterdam" / "75001 Paris", a UK "London SW1A 1AA", a Canadian "Ottawa, ON K1A 0B6", a city
after a comma, a country name.

Standalone, without a street (decided deliberately, because each is an address on its own
and precise enough): a UK postcode with a known area ("SW1A 1AA"), a Canadian postcode
("K1A 0B6") and a US "Springfield, IL 62704". A bare 5-digit number or "10115 Berlin" alone
is not taken: years, counts and prices look the same.

Refused: a number glued to a price, time, decimal or version ("$5", "10:30", "v2"), a
street type with no name before it ("Chapter 12 Road to..."), a number after a word that
makes it a count or an index ("Top 10 Park Avenue Tips", "Route 66"), lowercase names with
function words in them ("2 blocks down the road").

Scores: 0.85 for a street with a house number (and whatever follows it); 0.7 for a
standalone postcode form or a street found only through an address cue.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from veil.detect.base import Span

_U = "A-Z" + "".join(ch for ch in map(chr, range(0xC0, 0x250)) if ch.isupper())
_L = "a-z" + "".join(ch for ch in map(chr, range(0xDF, 0x250)) if ch.islower())
_AP = "'\u2019"
_CAP_WORD = rf"[{_U}][\w{_AP}\-]*"
_ANY_WORD = rf"[{_U}{_L}][\w{_AP}\-]*"
_ORDINAL = r"[0-9]{1,3}(?:st|nd|rd|th|e|er|ème|º|ª)"
_NAME_WORD = rf"(?:{_ANY_WORD}|{_ORDINAL})"
_PARTICLE = (
    r"(?:de|del|de la|de las|de los|la|las|los|le|les|du|des|d['\u2019]|l['\u2019]|dei|degli|della|delle|"
    r"di|da|das|do|dos|e|y|van|von|der|den|het|ter|ten|of|the|on|upon|al|el|san|santa|são|st\.|ste\.)"
)

# A house number: 1-5 digits, a letter ("221B"), a range or a slash ("12-14", "5/2").
_NUMBER = re.compile(
    r"[0-9](?<![\w.$€£/:\-][0-9])(?<![0-9],[0-9])[0-9]{0,4}"
    r"(?:[a-zA-Z](?![\w]))?(?:[ \t]?[\-/][ \t]?[0-9]{1,5}[a-zA-Z]?(?![\w]))?"
    r"(?![0-9]|[.,:][0-9]|%|[ \t]?(?:%|€|\$|£|am\b|pm\b|AM\b|PM\b))"
)
_SEP_BEFORE_NUMBER = r"[ \t]*,?[ \t]*(?:(?:n[º°o]?\.?|nr\.?|no\.|núm\.?|num\.?|#)[ \t]*)?"

_EN_TYPES = (
    "Street|St|Avenue|Ave|Av|Road|Rd|Lane|Ln|Drive|Dr|Boulevard|Blvd|Court|Ct|Way|Place|Pl|"
    "Terrace|Ter|Terr|Close|Crescent|Cres|Highway|Hwy|Parkway|Pkwy|Circle|Cir|Square|Sq|Trail|Trl|"
    "Plaza|Plz|Alley|Row|Mews|Grove|Gardens|Gdns|Hill|Walk|Parade|Pde|Esplanade|Promenade|Loop|Pike|"
    "Turnpike|Expressway|Expy|Freeway|Fwy|Causeway|Crossing|Path|Ridge|View|Vale|Rise|Wynd|Quay|"
    "Embankment|Green|Park|Point|Heights|Junction|Bend|Cove|Creek|Glen|Harbor|Harbour|Hollow|Landing|"
    "Meadow|Meadows|Orchard|Pass|Run|Station|Summit|Trace|Vista|Wharf|Yard|Estate|Broadway"
)
# Type words a lowercase street may end in ("42 oak street"); the rest need capitals.
_EN_LOWER_OK_WORDS = """
    street st avenue ave road rd lane ln drive dr boulevard blvd court ct terrace crescent highway hwy
    parkway pkwy circle cir square sq trail plaza place pl way close
"""
_EN_LOWER_OK = frozenset(_EN_LOWER_OK_WORDS.split())
_DIRECTION = r"(?:N|S|E|W|NE|NW|SE|SW|North|South|East|West)\.?"
_EN_STREET = re.compile(
    rf"(?P<num>{_NUMBER.pattern})[ \t]+(?:{_DIRECTION}[ \t]+)?"
    rf"(?P<name>(?:{_NAME_WORD}[ \t]+){{0,3}}{_NAME_WORD})[ \t]+"
    rf"(?P<type>(?i:{_EN_TYPES}))(?!\w)\.?(?:[ \t]+(?:N|S|E|W|NE|NW|SE|SW)(?!\w)\.?)?"
)
_BROADWAY = re.compile(rf"(?P<num>{_NUMBER.pattern})[ \t]+Broadway(?!\w)")

# Types written before the name (Romance, Slavic, Romanian...). Ones that are also English
# words count only when capitalised: "sent via Route 66" is no street.
_LEAD_TYPES_ANY_CASE = (
    "rue|avenida|avda\\.?|boulevard|bd\\.?|bld\\.?|chemin|impasse|allée|allee|quai|faubourg|fbg\\.?|"
    "calle|c/|cl\\.|carrer|carretera|ctra\\.?|paseo|pº|camino|ronda|travesía|travesia|plaça|"
    "viale|v\\.le|piazza|p\\.za|piazzale|vicolo|corso|c\\.so|lungomare|strada|"
    "rua|r\\.|travessa|praça|praca|estrada|alameda|largo|"
    "ul\\.|ulica|al\\.|aleja|os\\.|osiedle|str\\.|bulevardul|calea|"
    "avenue|av\\.|ave\\.|"
)
_LEAD_TYPES_CAPITALISED = (
    "Via|Place|Pl\\.|Plaza|Pza\\.?|Route|Rte\\.?|Passage|Square|Cours|Voie|Rambla|Piazzetta"
)
_LEAD_TYPE = rf"(?:(?i:{_LEAD_TYPES_ANY_CASE.rstrip('|')})|{_LEAD_TYPES_CAPITALISED})"
_LEAD_NAME = rf"(?:(?:{_PARTICLE}|{_NAME_WORD})[ \t]+){{0,5}}{_NAME_WORD}"
_NUMBER_THEN_LEAD_TYPE = re.compile(
    rf"(?P<num>{_NUMBER.pattern}),?[ \t]+(?:(?i:bis|ter|quater)[ \t]+)?"
    rf"(?P<type>{_LEAD_TYPE})[ \t]*(?P<name>{_LEAD_NAME})"
)
_LEAD_TYPE_THEN_NUMBER = re.compile(
    rf"(?<![\w])(?P<type>{_LEAD_TYPE})[ \t]*(?P<name>{_LEAD_NAME}){_SEP_BEFORE_NUMBER}\Z"
)

# Street words glued to the end of the name (DE, NL, Nordic, FI...), and the same words
# written apart after a name ("Berliner Straße", "Kossuth Lajos utca").
_SUFFIXES = (
    "straße|strasse|str\\.|gasse|weg|allee|allé|platz|damm|ufer|chaussee|markt|steig|pfad|zeile|gürtel|"
    "straat|laan|plein|gracht|kade|singel|dijk|dreef|steeg|"
    "vej|gade|gata|gatan|gaten|vägen|väg|veien|vegen|stræde|torv|plads|gränd|braut|stígur|stíg|vegur|"
    "katu|tie|kuja|polku|väylä|kaari"
)
_APART_TYPES = (
    "straße|strasse|str\\.|weg|allee|platz|gasse|damm|ufer|chaussee|markt|"
    "straat|laan|plein|gracht|kade|utca|u\\.|út|tér|körút|krt\\.|cesta|ulica|trg|iela|gatvė|tänav|mnt\\.?|"
    "sokak|sk\\.|caddesi|cad\\.|bulvar\u0131|soka\u011f\u0131|útja"
)
_SUFFIX_STREET_THEN_NUMBER = re.compile(
    rf"(?<![\w{_AP}\-])(?P<name>(?:{_CAP_WORD}[ \t]+){{0,3}}"
    rf"(?:[{_U}{_L}][\w{_AP}\-]*?(?i:{_SUFFIXES})|(?:{_CAP_WORD}[ \t]+)(?i:{_APART_TYPES})"
    rf"|[{_U}][\w{_AP}\-]*s[ \t]+gate))"
    rf"{_SEP_BEFORE_NUMBER}\Z"
)
_LEAD_WORDS = frozenset(
    word.replace("\\", "").rstrip("?").rstrip(".").lower()
    for word in f"{_LEAD_TYPES_ANY_CASE}|{_LEAD_TYPES_CAPITALISED}".split("|")
    if word
)
_SUFFIX_ENDINGS = tuple(
    word.replace("\\", "").rstrip("?").rstrip(".") for word in f"{_SUFFIXES}|{_APART_TYPES}|gate".split("|")
)
_WORD = re.compile(r"[^\W_]\S*")
_NOT_STREETS = frozenset({"brigade", "renegade", "weg", "tie", "kade", "markt", "platz"})

# After an address cue, any "Name 12" / "12 Name" shape.
_ADDRESS_CUE = (
    r"(?i:address|addr\.?|adresse|dirección|direccion|domicilio|indirizzo|anschrift|adres|endereço|"
    r"(?:live|lives|living|reside|resides)[ \t]+(?:at|on|in)|(?:located|based)[ \t]+at|"
    r"(?:ship|deliver|send[ \t]+it|mail[ \t]+it)[ \t]+to)"
)
_CUED_NAME_THEN_NUMBER = re.compile(
    rf"{_ADDRESS_CUE}(?:[ \t]+is)?[ \t]*:?[ \t]*(?P<name>(?:{_CAP_WORD}[ \t]+){{0,3}}{_CAP_WORD})"
    rf"{_SEP_BEFORE_NUMBER}\Z"
)
# Where an address cue could start, checked on a lowercased window before the full pattern.
_CUE_HINT = re.compile(
    "addr|adres|direcc|domicil|indirizzo|anschrift|endere|live|living|resid|located|based|ship|deliver|send|mail"
)
_CUE_BEFORE = re.compile(rf"{_ADDRESS_CUE}(?:[ \t]+is)?[ \t]*:?[ \t]*\Z")
_CUED_NUMBER_THEN_NAME = re.compile(
    rf"(?P<num>{_NUMBER.pattern})[ \t]+(?P<name>(?:{_CAP_WORD}[ \t]+){{0,2}}{_CAP_WORD})"
)

_PO_BOX = re.compile(
    r"(?<![\w])(?:"
    r"(?i:p\.?[ \t]?o\.?[ \t]?box|post[ \t]+office[ \t]+box|postbox|po[ \t]+box)[ \t]*#?[ \t]*[0-9]{1,7}"
    r"|Postfach[ \t]+[0-9]{1,6}(?:[ \t][0-9]{2}){0,3}"
    r"|(?i:apartado(?:[ \t]+de[ \t]+correos)?|apdo\.?)[ \t]+[0-9]{1,6}"
    r"|(?i:postbus|postboks|boîte[ \t]+postale|casella[ \t]+postale|caixa[ \t]+postal)[ \t]+[0-9]{1,6}"
    r"|(?:PSC|CMR|Unit)[ \t]+[0-9]{1,5},?[ \t]+Box[ \t]+[0-9]{1,5}"
    r"|(?:USS|USNS|USCGC)[ \t]+[A-Z][\w\-]*(?:[ \t][A-Z][\w\-]*){0,2}(?=[ \t]*[\n,][ \t]*FPO)"
    r")"
)
_BOX_WORDS = (
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
    "uscgc ",
)
_MILITARY = re.compile(r"(?<![\w])(?:APO|FPO|DPO)[ \t]+(?:AA|AE|AP)[ \t]+[0-9]{5}(?![0-9])")

_US_STATES = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|"
    "NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|PR|GU|VI|AS|MP|AA|AE|AP"
)
_US_STATE_NAMES = (
    "Alabama|Alaska|Arizona|Arkansas|California|Colorado|Connecticut|Delaware|Florida|Georgia|Hawaii|"
    "Idaho|Illinois|Indiana|Iowa|Kansas|Kentucky|Louisiana|Maine|Maryland|Massachusetts|Michigan|"
    "Minnesota|Mississippi|Missouri|Montana|Nebraska|Nevada|New[ \t]Hampshire|New[ \t]Jersey|"
    "New[ \t]Mexico|New[ \t]York|North[ \t]Carolina|North[ \t]Dakota|Ohio|Oklahoma|Oregon|Pennsylvania|"
    "Rhode[ \t]Island|South[ \t]Carolina|South[ \t]Dakota|Tennessee|Texas|Utah|Vermont|Virginia|"
    "Washington|West[ \t]Virginia|Wisconsin|Wyoming"
)
_CA_PROVINCES = "AB|BC|MB|NB|NL|NS|NT|NU|ON|PE|QC|SK|YT"
_ZIP = r"[0-9]{5}(?:-[0-9]{4})?(?![0-9])"
_UK_POSTCODE = r"(?:[A-Z]{1,2}[0-9][A-Z0-9]?|GIR)[ \t]?[0-9][ABD-HJLNP-UW-Z]{2}(?![\w])"
_CA_POSTCODE = r"[ABCEGHJ-NPRSTVXY][0-9][ABCEGHJ-NPRSTV-Z][ \t]?[0-9][ABCEGHJ-NPRSTV-Z][0-9](?![\w])"
_EU_POSTCODE = (
    r"(?:(?:[A-Z]{1,2}-)?[0-9]{5}|(?:[A-Z]{1,2}-)?[0-9]{4}(?:[ \t]?[A-Z]{2}(?![\w]))?"
    r"|[0-9]{3}[ \t][0-9]{2}|[0-9]{2}-[0-9]{3}|[0-9]{4}-[0-9]{3})(?![0-9])"
)
_CITY_JOIN = (
    r"(?:[ \t]*-[ \t]*|[ \t]+(?:(?:de|la|le|les|sur|sous|en|am|an|der|im|bei|del|di|do|dos|da|das|du|"
    r"na|nad|pod|pri|u|upon|on)"
    r"[ \t]+)?)"
)
_CITY = rf"{_CAP_WORD}(?:{_CITY_JOIN}{_CAP_WORD}){{0,3}}(?![\w{_AP}\-])"
_COUNTRIES = (
    "USA|U\\.S\\.A\\.|U\\.S\\.|United[ \t]States(?:[ \t]of[ \t]America)?|UK|U\\.K\\.|United[ \t]Kingdom|"
    "England|Scotland|Wales|Northern[ \t]Ireland|Ireland|Canada|Australia|New[ \t]Zealand|"
    "Germany|Deutschland|Austria|Österreich|Switzerland|Schweiz|Suisse|Svizzera|France|Belgium|Belgique|"
    "België|Netherlands|The[ \t]Netherlands|Nederland|Luxembourg|Spain|España|Portugal|Italy|Italia|"
    "Denmark|Danmark|Sweden|Sverige|Norway|Norge|Finland|Suomi|Iceland|Ísland|Poland|Polska|Czechia|"
    "Czech[ \t]Republic|Slovakia|Slovenia|Croatia|Hungary|Magyarország|Romania|Bulgaria|Greece|Cyprus|"
    "Cyprus[ \t]\\(Greek\\)|Estonia|Latvia|Lithuania|Turkey|Türkiye|Brazil|Brasil|Mexico|México|"
    "Argentina|Chile|Colombia|Peru|India|Japan|China|South[ \t]Africa|Tunisia|Morocco|Israel|Malta"
)
_SEP = r"(?:[ \t]*,[ \t]*|[ \t]*\r?\n[ \t]*|[ \t]+)"
_COMMA_OR_LINE = r"(?:[ \t]*,[ \t]*(?:\r?\n[ \t]*)?|[ \t]*\r?\n[ \t]*)"

_UNIT = re.compile(
    rf"{_SEP}(?:(?i:apt|apartment|apartament|appt|app|suite|ste|unit|flat|fl|floor|room|rm|bldg|building|"
    rf"piso|puerta|pta|planta|escalera|esc|scala|int|interno|étage|etage|bus|stiege|stock|tür|top|whg|"
    rf"wohnung|lgh|lejl)(?:\.|(?=[ \t#0-9]))[ \t]*(?:#|no\.?|n[º°]\.?)?[ \t]*[0-9A-Za-z][\w\-]{{0,5}}"
    rf"|#[ \t]*[0-9][\w\-]{{0,5}}"
    rf"|[0-9]{{1,2}}(?:[º°ª]|st|nd|rd|th)[ \t]*(?i:floor|fl\.?)"
    rf"|[0-9]{{1,2}}[º°ª](?:[ \t]*(?:[0-9]{{1,2}}[ºª]|(?i:izq(?:uierda)?|dcha|dch|der(?:echa)?|centro|"
    rf"ctro|int|ext)|[A-H])(?![\w]))?\.?"
    rf"|(?i:bajo|entresuelo|ático|atico)(?![\w])(?:[ \t]+[A-H](?![\w]))?)(?![\w])\.?"
)
_LOCALITY = re.compile(
    rf"(?:{_SEP}(?P<us>{_CITY},?[ \t]+(?:{_US_STATES}|{_US_STATE_NAMES})[ \t]+{_ZIP})"
    rf"|{_SEP}(?P<state>(?:{_US_STATES})[ \t]+{_ZIP})"
    rf"|{_SEP}(?P<military>(?:APO|FPO|DPO)[ \t]+(?:AA|AE|AP)[ \t]+[0-9]{{5}}(?![0-9]))"
    rf"|{_SEP}(?P<region_code>{_CITY},?[ \t]+[A-Z]{{2}}[ \t]+[0-9]{{4,6}}(?![0-9]))"
    rf"|{_SEP}(?P<eu>{_EU_POSTCODE}[ \t]+{_CITY})"
    rf"|{_SEP}(?P<uk>(?:{_CITY},?[ \t]+)?{_UK_POSTCODE})"
    rf"|{_SEP}(?P<ca>{_CITY},?[ \t]+(?:(?:{_CA_PROVINCES})[ \t]+)?{_CA_POSTCODE})"
    rf"|{_COMMA_OR_LINE}(?P<country>(?:{_COUNTRIES})(?:[ \t]+[0-9]{{4,6}}(?![0-9]))?)(?![\w])"
    rf"|{_SEP}(?P<zip>{_ZIP})"
    rf"|[ \t]*,[ \t]*(?P<city>{_CITY})(?:[ \t]*,[ \t]*(?P<region>[A-Z]{{2,3}})(?![\w]))?"
    rf"|[ \t]*\r?\n[ \t]*(?P<line_city>{_CITY})(?=[ \t]*(?:,[ \t]*)?(?:\r?\n[ \t]*)?"
    rf"(?:,[ \t]*)?(?:{_COUNTRIES}|{_EU_POSTCODE}|{_UK_POSTCODE}|(?:{_US_STATES})[ \t]+{_ZIP})))"
)
# Staircase and flat right after a house number (FI, SE, DK: "Mannerheimintie 5 A 12").
_STAIRCASE = re.compile(r"[ \t]+[A-H][ \t]?[0-9]{1,3}(?![\w])")
_MAX_CONTINUATIONS = 8
_LEAD_IN = re.compile(
    rf"(?<![\w])(?:(?P<unit>(?i:flat|apt|apartment|suite|ste|unit)\.?[ \t]*[0-9][\w\-]{{0,4}},?)"
    rf"|{_NUMBER.pattern})[ \t]+\Z"
)

_US_HINT = re.compile(r",[ \t]+[A-Z]{2}[ \t]+[0-9]{5}")
_CA_HINT = re.compile(r"[0-9][A-Z][ \t]?[0-9][A-Z][0-9]")
_UK_HINT = re.compile(r"[0-9][ABD-HJLNP-UW-Z]{2}(?![\w])")
_STANDALONE_US = re.compile(rf"(?<![\w])(?:{_CITY}),[ \t]+(?:{_US_STATES})[ \t]+{_ZIP}")
_STANDALONE_UK = re.compile(rf"(?<![\w]){_UK_POSTCODE}")
_STANDALONE_CA = re.compile(rf"(?<![\w])(?:{_CITY},?[ \t]+(?:{_CA_PROVINCES})[ \t]+)?{_CA_POSTCODE}")
_UK_AREA_CODES = (
    "AB AL B BA BB BD BH BL BN BR BS BT CA CB CF CH CM CO CR CT CV CW DA DD DE DG DH DL DN DT DY E EC EH EN "
    "EX FK FY G GL GU GY HA HD HG HP HR HS HU HX IG IM IP IV JE KA KT KW KY L LA LD LE LL LN LS LU M ME MK "
    "ML N NE NG NN NP NR NW OL OX PA PE PH PL PO PR RG RH RM S SA SE SG SK SL SM SN SO SP SR SS ST SW SY TA "
    "TD TF TN TQ TR TS TW UB W WA WC WD WF WN WR WS WV YO ZE"
)
_UK_AREAS = frozenset(_UK_AREA_CODES.split())

# A number right after one of these is a count, an index or a road number, not a house.
_NOT_HOUSE_WORDS = (
    "chapter section sec page p pp part season episode ep level step phase version v ver top figure fig "
    "table tab lesson day week year route rte highway hwy interstate i us sr exit gate platform track "
    "apollo windows iphone ios android python java number no nr item items vol volume issue book act "
    "scene verse psalm rule article art clause paragraph para line row column col group team size "
    "type class grade score rank round game match bus flight train"
)
_NOT_HOUSE_AFTER = frozenset(_NOT_HOUSE_WORDS.split())
_FUNCTION_WORD_LIST = (
    "a an the and or but of to in on at by for from with into onto over under down up off out as is are was "
    "were be been my your his her our their its this that these those i you he she we they it me him us them "
    "not no yes so very too also just only some any all each every many more most few less than then "
    "minutes minute mins min hours hour hrs days day weeks week months month years year miles mile km "
    "meters metres feet ft times people persons items steps blocks block doors houses stops turns"
)
_FUNCTION_WORDS = frozenset(_FUNCTION_WORD_LIST.split())
_UNIT_WORDS = frozenset(
    {"apt", "apartment", "suite", "ste", "unit", "flat", "floor", "room", "bldg", "building"}
)


class AddressDetector:
    """Finds STREET_ADDRESS values (see the module docstring)."""

    name = "address"
    entity_type = "STREET_ADDRESS"
    # Every address has a digit: a house number, a box number or a postcode.
    trigger: re.Pattern[str] | None = re.compile(r"[0-9]")
    street_score = 0.85
    weak_score = 0.7

    def find(self, text: str) -> Iterator[Span]:
        found: list[tuple[int, int, float]] = []
        for number in _NUMBER.finditer(text):
            street = self._street_at(text, number)
            if street is not None:
                start, end, score = street
                found.append((start, self._continue(text, end), score))
        # The whole-text patterns are slow to scan, so each runs only after a cheap check.
        lowered = text.lower()
        if any(word in lowered for word in _BOX_WORDS):
            for box in _PO_BOX.finditer(text):
                found.append((box.start(), self._continue(text, box.end()), self.street_score))
        if "PO " in text:
            for military in _MILITARY.finditer(text):
                found.append((military.start(), military.end(), self.street_score))
        for hint, pattern in ((_US_HINT, _STANDALONE_US), (_CA_HINT, _STANDALONE_CA)):
            if hint.search(text):
                for match in pattern.finditer(text):
                    found.append((match.start(), match.end(), self.weak_score))
        if _UK_HINT.search(text):
            for match in _STANDALONE_UK.finditer(text):
                if _uk_area(match.group()) in _UK_AREAS and " " in match.group():
                    found.append((match.start(), match.end(), self.weak_score))
        yield from self._spans(found)

    def _spans(self, found: list[tuple[int, int, float]]) -> Iterator[Span]:
        """The longest of overlapping findings, in order."""
        found.sort(key=lambda item: (item[0], item[0] - item[1]))
        end = -1
        for start, stop, score in found:
            if start >= end:
                end = stop
                yield Span(self.entity_type, start, stop, score, self.name)

    def _street_at(self, text: str, number: re.Match[str]) -> tuple[int, int, float] | None:
        """The street that this number belongs to, as (start, end, score)."""
        start = number.start()
        if _word_before(text, start).lower().rstrip(".") in _NOT_HOUSE_AFTER:
            forward = None
        else:
            forward = self._number_first(text, start)
        backward = self._number_last(text, number)
        candidates = [street for street in (forward, backward) if street is not None]
        if not candidates:
            return self._cued(text, number)
        start, end = min(candidates, key=lambda street: (street[0] - street[1], street[0]))
        # What stands right before the street joins it: a unit ("Flat 3, 14 Primrose Hill") or
        # another number ("75346 Ørbækvej 96", "40187 263 Xanthoudidou Street": a building
        # number, a phone number run into it; either way it goes with the address).
        lead = _LEAD_IN.search(text, max(0, start - 24), start)
        if lead is not None:
            start = lead.start()
        return start, end, self.street_score

    def _number_first(self, text: str, start: int) -> tuple[int, int] | None:
        for pattern in (_EN_STREET, _BROADWAY, _NUMBER_THEN_LEAD_TYPE):
            match = pattern.match(text, start)
            if match is None:
                continue
            if pattern is _EN_STREET and not _english_street_ok(match):
                continue
            end = match.end()
            if pattern is _NUMBER_THEN_LEAD_TYPE:
                end = match.start("name") + _trim_name(match.group("name"))
                if end <= match.start("name"):
                    continue
            return start, end
        return None

    def _number_last(self, text: str, number: re.Match[str]) -> tuple[int, int] | None:
        start = number.start()
        if not _could_follow_street(text, start):
            return None
        # The last few words decide which pattern could apply and where it must start, so
        # each runs anchored (`match`) instead of scanning the window.
        words = list(_WORD.finditer(text, max(0, start - 90), start))[-7:]
        keys = [word.group().lower().rstrip(".,") for word in words]
        for word, key in zip(words, keys, strict=True):
            if key in _LEAD_WORDS or key.startswith("c/"):
                lead = _LEAD_TYPE_THEN_NUMBER.match(text, word.start(), start)
                if lead is not None and _lead_street_ok(lead):
                    return lead.start(), number.end()
        if not any(key.endswith(_SUFFIX_ENDINGS) for key in keys[-2:]):
            return None
        for word in words[-5:]:
            glued = _SUFFIX_STREET_THEN_NUMBER.match(text, word.start(), start)
            if glued is not None and _suffix_street_ok(glued.group("name")):
                return glued.start(), number.end()
        return None

    def _cued(self, text: str, number: re.Match[str]) -> tuple[int, int, float] | None:
        """A street found only because an address cue comes right before it."""
        start = number.start()
        window_start = max(0, start - 90)
        hint = _CUE_HINT.search(text[window_start:start].lower())
        if hint is None:
            return None
        cue_at = hint.start()
        if _could_follow_street(text, start):
            match = _CUED_NAME_THEN_NUMBER.search(text, window_start + cue_at, start)
            if match is not None and match.group("name").lower() not in _FUNCTION_WORDS:
                return match.start("name"), number.end(), self.weak_score
        if _CUE_BEFORE.search(text, max(window_start + cue_at, start - 40), start):
            match = _CUED_NUMBER_THEN_NAME.match(text, start)
            if match is not None:
                return start, match.end(), self.weak_score
        return None

    def _continue(self, text: str, end: int) -> int:
        """Where the address that has reached `end` stops: units, city, postcode, country."""
        for _ in range(_MAX_CONTINUATIONS):
            unit = _UNIT.match(text, end)
            if unit is None and text[end - 1].isdigit():
                unit = _STAIRCASE.match(text, end)
            if unit is not None:
                end = unit.end()
                continue
            locality = _LOCALITY.match(text, end)
            if locality is None or _locality_refused(locality):
                break
            end = locality.end()
        return end


def _english_street_ok(match: re.Match[str]) -> bool:
    """Capitalised names are fine; lowercase ones need a common type word and no function words."""
    words = match.group("name").split()
    street_type = match.group("type")
    if any(word.lower() in _FUNCTION_WORDS for word in words):
        return False
    if all(word[0].isupper() or word[0].isdigit() for word in words):
        return street_type[0].isupper() or street_type.lower() in _EN_LOWER_OK
    type_words = {word.lower() for word in _EN_TYPES.split("|")}
    return street_type.lower() in _EN_LOWER_OK and not any(word.lower() in type_words for word in words)


def _lead_street_ok(match: re.Match[str]) -> bool:
    street_type = match.group("type")
    words = [word for word in match.group("name").split() if not re.fullmatch(_PARTICLE, word.lower())]
    if not words or words[0].lower() in _FUNCTION_WORDS:
        return False
    return street_type[0].isupper() or all(word[0].islower() for word in words) or words[0][0].isupper()


def _suffix_street_ok(name: str) -> bool:
    words = name.split()
    last = words[-1].lower().rstrip(".")
    if last in _NOT_STREETS and len(words) == 1:
        return False
    if len(words) == 1:
        return len(last) >= 6 or (last[:1].isalpha() and name[0].isupper() and len(last) >= 5)
    return True


def _trim_name(name: str) -> int:
    """Length of the street name once trailing particles and lowercase non-name words are cut."""
    words = name.split(" ")
    while words and (
        re.fullmatch(_PARTICLE, words[-1].lower())
        or words[-1].lower() in _FUNCTION_WORDS
        or words[-1].lower().rstrip(".") in _UNIT_WORDS
    ):
        words.pop()
    return len(" ".join(words))


def _could_follow_street(text: str, start: int) -> bool:
    """Cheap test before a backward search: a letter or a dot/º must come shortly before."""
    index = start - 1
    while index >= 0 and text[index] in " \t,#":
        index -= 1
    return index >= 0 and (text[index].isalpha() or text[index] in ".º°/")


def _word_before(text: str, start: int) -> str:
    head = text[max(0, start - 24) : start].rstrip(" \t#")
    parts = head.rsplit(None, 1)
    return parts[-1] if parts else ""


def _locality_refused(match: re.Match[str]) -> bool:
    """A comma followed by a word that starts a clause, not a city ("..., But I moved")."""
    city = match.group("city") or match.group("line_city")
    return city is not None and city.split()[0].lower() in _FUNCTION_WORDS


def _uk_area(postcode: str) -> str:
    return postcode[:2] if postcode[1].isalpha() else postcode[:1]
