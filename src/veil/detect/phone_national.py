"""Phone numbers written in some country's national format, without a country code.

`phonenumbers` validates a number against one region, and a number written without `+`
could be from any of them. "Valid in at least one of libphonenumber's 245 regions" holds
for nearly any 6-10 digit string ("12 345 678" is valid in 24 regions, "2024 2025" in 26)
and costs about 25 ms a window, so it is no evidence. What sets a phone number apart from
other groups of digits is how it is written and the words around it:

- right after a phone word ("Mobile: ", "call me on ", "Phone:\\n") or right before a
  phone label (" office", "-Fax"), a phone-formatted run of 7-15 digits is accepted, or
  6 digits written as pairs ("61 60 34"). "Right after" allows only filler between the
  word and the digits ("me", "at", "on", "my", punctuation), so "Mobile sales rose 12 345
  678 units" and "call a taxi to 9335 2733 Jasper Ave" are not phone numbers;
- with no cue, only layouts that amounts, lists and ranges do not take: a trunk `0` then
  groups ("06-82237745", "0494 41 18 24", "05.06.52.16.25") or an area code in
  parentheses ("(72) 583-350").

Thousands ("561 499 051"), pairs ("87 47 98"), 3-4 ("469 2020"), 4-4 ("9691 2587") and
mixed groups ("959 54 685") are also how amounts, lists of numbers and two adjacent
numbers look, so they need a cue. A word such as "order", "invoice" or "Suite" just
before the digits cancels the cue and the cue-free layouts alike.
"""

from __future__ import annotations

import re

_MAX_DIGITS = 15  # E.164's longest number
_MIN_DIGITS = 7
_PAIRS_MIN_DIGITS = 6
_CUE_WINDOW = 30

# "messages" and "answering" are support-chat phrasing ("stop receiving
# messages to", "not answering at").
_CUE_WORD = re.compile(
    r"phones?|telephone|tel|mob(?:ile)?|cell(?:phone)?|fax|call(?:s|ed|ing)?|dial|ring|whatsapp|sms"
    r"|landline|hotline|helpline|voicemail|desk|messages?|texted|answering"
)
_NON_PHONE_WORD = re.compile(
    r"order|invoice|inv|ref|reference|tracking|account|acct|po|sku|serial|isbn|issn|ticket|case|booking"
    r"|policy|id|iban|ssn|vat|model|part|version|zip|postcode|price|total|suite|apt|unit|box|room|floor|flat"
)
_WORD = re.compile(r"[^\W\d_]+")
_LABEL = re.compile(r"\b[TMFPH] ?:")  # "T: ", "M: " in a signature; capitals only
# What may stand between a cue word and the number ("call me on", "Phone:\n", "Tel. no.").
_FILLER = re.compile(
    r"(?:[\s:.,;#(\-]|\\n|(?i:me|us|him|her|them|at|on|to|is|my|our|your|his|the|number|no|nr"
    r"|anytime|directly|please|or|via|you)\b)*"
)
_AFTER = re.compile(r"[ \-(/,]{0,3}(?i:office|fax|mobile|cell|home|work|phone|tel|desk|landline)\b")

_GROUP = re.compile(r"[0-9]+")
_DIGIT = re.compile(r"[0-9]")
_YEAR_RANGE = re.compile(r"(?<![0-9])(?:19|20)[0-9]{2}[-/ ](?:19|20)[0-9]{2}(?![0-9])")
_SPACED_DATE = re.compile(
    r"(?:[0-3]?[0-9] [01]?[0-9] (?:19|20)[0-9]{2}|(?:19|20)[0-9]{2} [01]?[0-9] [0-3]?[0-9])"
)
_ZIP_PLUS_4 = re.compile(r"[1-9][0-9]{4}-[0-9]{4}")
_PARENS_AREA = re.compile(r"\([0-9]{1,5}\) ?[0-9]{3}")
# House numbers: "9335 2733 Jasper Ave", "Suite 595 9472 90 Petworth Rd".
_STREET_AFTER = re.compile(
    r" (?:[^\W\d]+ ){0,2}?(?i:street|st|avenue|ave|road|rd|lane|ln|drive|dr|boulevard|blvd|way|court|ct"
    r"|place|pl|square|sq|rue|strasse|straße|str|weg|via|calle|suite|apt)\b"
)
_MONEY_BEFORE = re.compile(r"[$€£¥₹] ?$")
_MONEY_AFTER = re.compile(r" ?(?:[%$€£¥₹]|(?:EUR|USD|GBP|CHF|JPY|INR|CNY)\b)")


def is_national_number(text: str, start: int, end: int) -> bool:
    """Whether `text[start:end]`, a digit window already cleared of dates, SSNs, IPs and
    cards, is a phone number in a national format (see the module docstring)."""
    candidate = text[start:end]
    groups = _GROUP.findall(candidate)
    sizes = [len(group) for group in groups]
    digits = sum(sizes)
    pairs = len(sizes) > 2 and set(sizes) == {2}
    if digits > _MAX_DIGITS or digits < (_PAIRS_MIN_DIGITS if pairs else _MIN_DIGITS):
        return False
    if sizes[0] == 1 and not candidate.startswith(("0", "(")):
        return False  # "1 234 567" is an amount; "+1 ..." and "1-800-..." are read with the region
    cue = phone_cue(text, start, end)
    if cue is None or not (cue or _unmistakable(candidate, sizes, digits)):
        return False
    return not _not_a_phone(text, start, end)


def phone_cue(text: str, start: int, end: int) -> bool | None:
    """True right after a phone word or right before a phone label; None when a non-phone
    word ("order", "Suite") is the nearest word before the digits; otherwise False."""
    if _AFTER.match(text, end):
        return True
    low = max(0, start - _CUE_WINDOW)
    for word in reversed(list(_WORD.finditer(text, low, start))):
        name = word.group().lower()
        if _NON_PHONE_WORD.fullmatch(name):
            # The word speaks for the digits right after it, not across other digits.
            return None if _DIGIT.search(text, word.end(), start) is None else False
        if _CUE_WORD.fullmatch(name):
            return _FILLER.fullmatch(text, word.end(), start) is not None
    label = _LABEL.search(text, max(0, start - 4), start)
    return label is not None and _FILLER.fullmatch(text, label.end(), start) is not None


def _not_a_phone(text: str, start: int, end: int) -> bool:
    candidate = text[start:end]
    separators = set(re.sub(r"[0-9()]", "", candidate))
    if "." in separators and (len(separators) > 1 or candidate.count(".") == 1):
        return True  # a decimal, or decimals in a row: "48.8566 2.3522"
    return bool(
        _YEAR_RANGE.search(candidate)
        or _SPACED_DATE.fullmatch(candidate)
        or _ZIP_PLUS_4.fullmatch(candidate)
        or _MONEY_BEFORE.search(text, max(0, start - 2), start)
        or _MONEY_AFTER.match(text, end)
        or _STREET_AFTER.match(text, end)
    )


def _unmistakable(candidate: str, sizes: list[int], digits: int) -> bool:
    """The layouts accepted without a cue: a trunk `0` or an area code in parentheses."""
    if len(sizes) < 2 or not 8 <= digits <= 12:
        return False
    if candidate.startswith(("0", "(0")):
        # Pairs only as the French five ("05 06 52 16 25"); six pairs are lottery numbers.
        return sizes[0] > 1 and (set(sizes) != {2} or len(sizes) == 5)
    return _PARENS_AREA.match(candidate) is not None and "/" not in candidate
