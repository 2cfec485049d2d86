"""Every CSV the application writes goes through here: each field quoted, and a
cell a spreadsheet would run as a formula (CSV injection) made inert.

A French Excel splits on ";", so an unquoted `x;=1+1` (a User-Agent anyone can
send to the login page) becomes a cell `=1+1`. Every field is quoted; and as a
spreadsheet reading the file with another separator than ours may not honour
the quotes, a formula character that would start a cell after any separator
(",", ";", tab) is made inert too. Inert means prefixed with an apostrophe (the
OWASP recommendation), after any leading spaces; full-width forms count, as
spreadsheets fold them."""

import csv
import re
from collections.abc import Iterable
from typing import Any

# A formula character at the start of the cell, or after a separator (spaces
# and quotes allowed in between).
_FORMULA = re.compile(r"(^|[,;\t])([\s\"']*)(?=[=+\-@＝＋－＠\t\r\n])")


def safe_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return _FORMULA.sub(r"\1'\2", text)


class CSVWriter:
    """csv.writer with every field quoted and every cell made safe. `out` is a
    file-like object, or None to get each row back as a string (streaming)."""

    def __init__(self, out=None) -> None:
        self._writer = csv.writer(out or _Echo(), quoting=csv.QUOTE_ALL)

    def writerow(self, values: Iterable[Any]):
        return self._writer.writerow([safe_cell(value) for value in values])


class _Echo:
    def write(self, value: str) -> str:
        return value
