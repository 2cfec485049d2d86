"""Normalisation of searchable values before blind indexing: the same person
typed in different ways must give the same index value."""

import re
import unicodedata
from datetime import date, datetime

import phonenumbers

PHONE_REGION = "FR"
PREFIX_LENGTH = 3

_SEPARATORS = re.compile(r"[\s\-‐-―'’_.]+")
# Four-digit years only: "01/01/50" would be read as 2050.
_DATE_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d")


def name(value: str) -> str:
    """Lowercase, accents stripped, hyphens/apostrophes/spaces as one space."""
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    stripped = stripped.replace("œ", "oe").replace("æ", "ae").replace("ß", "ss")
    return _SEPARATORS.sub(" ", stripped).strip()


def first_given_name(first_names: str) -> str:
    """The first of the given names (prénom usuel), normalised."""
    parts = re.split(r"[\s,]+", first_names.strip())
    return name(parts[0]) if parts and parts[0] else ""


def name_prefix(value: str) -> str:
    compact = name(value).replace(" ", "")
    return compact[:PREFIX_LENGTH] if len(compact) >= PREFIX_LENGTH else ""


def phone(value: str) -> str | None:
    """E.164 (+33612345678) or None when the value is not a plausible number."""
    cleaned = value.strip()
    if not cleaned or not re.fullmatch(r"[\d\s+().\-/]{6,}", cleaned):
        return None
    if cleaned.startswith("00"):
        cleaned = "+" + cleaned[2:]
    try:
        number = phonenumbers.parse(cleaned, PHONE_REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def birth_date(value: str | date) -> date | None:
    if isinstance(value, date):
        return value
    text = value.strip()
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()  # noqa: DTZ007 (a calendar date)
        except ValueError:
            continue
    return None
