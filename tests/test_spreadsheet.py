"""CSV formula injection: every CSV the application writes quotes every field
and makes formula cells inert, through one helper (secretariat.spreadsheet)."""

import csv
import io
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from secretariat.spreadsheet import CSVWriter, safe_cell

FORMULA = re.compile(r"^\s*[=+\-@＝＋－＠]")


def _cells(text: str, delimiter: str) -> list[str]:
    """The cells a spreadsheet sees with this separator (Excel in French: ";")."""
    return [cell for row in csv.reader(io.StringIO(text), delimiter=delimiter) for cell in row]


@pytest.mark.django_db
def test_failed_login_user_agent_is_inert_in_the_audit_csv(world):
    Client(HTTP_USER_AGENT="x;=1+1").post(
        reverse("accounts:login"), {"username": "tele_a", "password": "mauvais"}
    )
    response = world.client("compliance_officer").post(
        reverse("audit:export"), {"action": "login_failed"}
    )
    text = b"".join(response.streaming_content).decode()
    assert '"x;\'=1+1"' in text
    for delimiter in (",", ";"):
        formulas = [cell for cell in _cells(text, delimiter) if FORMULA.match(cell)]
        assert not formulas, (delimiter, formulas)


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("  +33 6 12", "'  +33 6 12"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("＝1+1", "'＝1+1"),
        ("x;=1+1", "x;'=1+1"),
        ("a, -1", "a,' -1"),
        ("Dupont-Durand", "Dupont-Durand"),
        (None, ""),
        (42, "42"),
    ],
)
def test_safe_cell(value, cell):
    assert safe_cell(value) == cell


def test_writer_quotes_every_field():
    out = io.StringIO()
    CSVWriter(out).writerow([1, "a", None, 'x"y'])
    assert out.getvalue() == '"1","a","","x""y"\r\n'


def test_no_csv_is_written_outside_the_helper():
    """One helper for every CSV: a second csv.writer would miss the escaping."""
    helper = Path(settings.BASE_DIR) / "secretariat" / "spreadsheet.py"
    others = [
        str(path.relative_to(settings.BASE_DIR))
        for path in Path(settings.BASE_DIR).glob("*/**/*.py")
        if path != helper
        and path.parts[len(Path(settings.BASE_DIR).parts)] not in (".venv", "tests", "build")
        and re.search(r"csv\.(writer|DictWriter)\(", path.read_text())
    ]
    assert not others, f"write CSV through secretariat.spreadsheet.CSVWriter: {others}"
