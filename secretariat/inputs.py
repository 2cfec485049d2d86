"""Bounds on what a person can type into a form or put in a URL (issue 12,
defect 2): dates within a sensible range, and text without control characters
or bidirectional overrides. The one place where the bounds live
(docs/decisions.md): forms check first (a French message on the field), views
reading a URL parameter answer a French 400, and services have the last word
(each raises its own French refusal, passed as `error`)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from django.core.exceptions import BadRequest, ValidationError
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

_PLAIN_FORBIDDEN = frozenset(
    [chr(code) for code in range(0x00, 0x20)]  # C0 controls, tab and newlines included
    + [chr(0x7F)]
    + [chr(code) for code in range(0x80, 0xA0)]  # C1 controls
    + [chr(code) for code in range(0x202A, 0x202F)]  # bidi embeddings and overrides
    + [chr(code) for code in range(0x2066, 0x206A)]  # bidi isolates
)
_MULTILINE_FORBIDDEN = _PLAIN_FORBIDDEN - {"\t", "\n", "\r"}


def _years_from(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


@dataclass(frozen=True)
class DateRange:
    """Dates a person may give for one purpose, relative to today (local time)."""

    name: str
    first: Callable[[date], date]
    last: Callable[[date], date]

    def bounds(self, today: date | None = None) -> tuple[date, date]:
        today = today or timezone.localdate()
        return self.first(today), self.last(today)

    def contains(self, value: date | datetime, today: date | None = None) -> bool:
        day = value.date() if isinstance(value, datetime) else value
        first, last = self.bounds(today)
        return first <= day <= last

    def message(self, today: date | None = None) -> str:
        first, last = self.bounds(today)
        return _("Date hors des limites admises : entre le %(first)s et le %(last)s.") % {
            "first": date_format(first, "j F Y"),
            "last": date_format(last, "j F Y"),
        }

    def check(
        self, value: date | datetime | None, *, error: Callable[[str], Exception] = ValidationError
    ) -> None:
        """Raise `error` with the French message when `value` is out of range."""
        if value is not None and not self.contains(value):
            raise error(self.message())

    def validator(self, value: date | datetime) -> None:
        """For a form field's `validators`."""
        if not self.contains(value):
            raise ValidationError(self.message(), code="out_of_range")


# The ranges (docs/decisions.md, "Bounded input").
BIRTH_DATE = DateRange("birth_date", lambda today: date(1900, 1, 1), lambda today: today)
SCHEDULE = DateRange(
    "schedule", lambda today: _years_from(today, -1), lambda today: _years_from(today, 2)
)
HISTORY = DateRange(
    "history", lambda today: _years_from(today, -10), lambda today: _years_from(today, 2)
)
PAST = DateRange("past", lambda today: _years_from(today, -10), lambda today: today)


class RefusedParameter(BadRequest):
    """A URL parameter out of bounds: a 400 whose page shows `user_message`
    (French, never data: secretariat/errors.py)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.user_message = message


def date_param(query, name: str, bounds: DateRange) -> date | None:
    """A `YYYY-MM-DD` URL parameter: None when absent or empty, a French 400
    (RefusedParameter) when it is not a date or is out of range."""
    raw = query.get(name, "")
    if not raw:
        return None
    try:
        value = date.fromisoformat(raw) if len(raw) == 10 else None
    except ValueError:
        value = None
    if value is None:
        raise RefusedParameter(_("Date invalide dans l'adresse : attendu AAAA-MM-JJ."))
    bounds.check(value, error=RefusedParameter)
    return value


ID_MAX = 2**31 - 1  # the largest id of an integer primary key


def id_param(query, name: str) -> int | None:
    """A row id in a URL parameter: None when absent or empty, a French 400
    (RefusedParameter) when it is not a plain positive number an id column holds
    ("²" and "١" are digits to str.isdigit(), not to int() or PostgreSQL)."""
    raw = query.get(name, "")
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit() and 0 < int(raw) <= ID_MAX):
        raise RefusedParameter(_("Identifiant invalide dans l'adresse."))
    return int(raw)


def text_is_clean(value: str, *, multiline: bool = False) -> bool:
    forbidden = _MULTILINE_FORBIDDEN if multiline else _PLAIN_FORBIDDEN
    return not any(char in forbidden for char in value)


def text_message() -> str:
    return _("Caractères de contrôle ou d'inversion du sens d'écriture refusés.")


def check_text(
    *values: str, multiline: bool = False, error: Callable[[str], Exception] = ValidationError
) -> None:
    """The service's last word on names and free text shown to others."""
    if not all(text_is_clean(value or "", multiline=multiline) for value in values):
        raise error(text_message())


def plain_text(value: str) -> None:
    """Form validator of a one-line name or label."""
    if not text_is_clean(value):
        raise ValidationError(text_message(), code="control_characters")


def free_text(value: str) -> None:
    """Form validator of a text area (tabs and newlines allowed)."""
    if not text_is_clean(value, multiline=True):
        raise ValidationError(text_message(), code="control_characters")
