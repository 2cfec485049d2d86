"""The interface is French by default and fully translated into English.

The .mo files are compiled by `make messages` (a step of `make test`)."""

import ast
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import reverse

PO_FILE = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES" / "django.po"


@pytest.mark.django_db
def test_login_page_is_french_by_default():
    page = Client().get(reverse("accounts:login")).content.decode()
    assert '<html lang="fr">' in page
    assert "Connexion" in page


@pytest.mark.django_db
def test_language_switch_to_english():
    client = Client()
    login = reverse("accounts:login")
    response = client.post(reverse("set_language"), {"language": "en", "next": login})
    assert response.status_code == 302
    page = client.get(login).content.decode()
    assert '<html lang="en">' in page
    assert "Sign in" in page
    assert "Connexion" not in page


def _po_entries(path: Path) -> list[tuple[str, dict[str, str]]]:
    """(msgid, {msgstr key: text}) for each entry of a .po file, header included.

    Enough of the format for a file written by makemessages: obsolete entries
    (#~) and comments are skipped; strings are C-escaped and may span lines."""
    entries: list[tuple[str, dict[str, str]]] = []
    fields: dict[str, str] = {}
    key = None

    def flush():
        if "msgid" in fields:
            msgid = fields.pop("msgid")
            fields.pop("msgid_plural", None)
            fields.pop("msgctxt", None)
            entries.append((msgid, dict(fields)))
        fields.clear()

    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            if not line:
                flush()
                key = None
            continue
        if line.startswith('"'):
            fields[key] += ast.literal_eval(line)
            continue
        key, _, value = line.partition(" ")
        if key == "msgid" or (key == "msgctxt" and "msgid" in fields):
            flush()
        fields[key] = ast.literal_eval(value)
    flush()
    return entries


def test_every_string_has_an_english_translation():
    entries = _po_entries(PO_FILE)
    assert entries[0][0] == ""  # the header
    messages = entries[1:]
    assert len(messages) > 400
    missing = [
        msgid
        for msgid, translations in messages
        if not translations or not all(text.strip() for text in translations.values())
    ]
    assert missing == []
    assert "#, fuzzy" not in PO_FILE.read_text(encoding="utf-8")


# Directories makemessages must not read: tests, tools, the virtualenv, the catalogue itself.
NOT_SOURCE = {".git", ".venv", "locale", "tests", "bench", "scripts", "docs", "node_modules"}


def _fresh_catalogue(tmp_path: Path) -> Path:
    """The catalogue makemessages would write today, extracted from a copy of the
    sources (run in place, it would rewrite the repository's own file)."""
    source = tmp_path / "src"
    shutil.copytree(
        settings.BASE_DIR,
        source,
        ignore=lambda directory, names: (
            [name for name in names if name in NOT_SOURCE]
            if Path(directory) == Path(settings.BASE_DIR)
            else [name for name in names if name == "__pycache__"]
        ),
    )
    (source / "locale").mkdir()
    return source / "locale" / "en" / "LC_MESSAGES" / "django.po"


def test_every_string_of_the_sources_is_in_the_catalogue(tmp_path, monkeypatch):
    """A string added to the code without running makemessages has no English:
    the catalogue holds exactly the strings of the sources (none missing, none stale)."""
    fresh = _fresh_catalogue(tmp_path)
    monkeypatch.chdir(fresh.parents[3])
    with override_settings(LOCALE_PATHS=[str(fresh.parents[2])]):
        call_command("makemessages", locale=["en"], no_location=True, verbosity=0)
    extracted = {msgid for msgid, _ in _po_entries(fresh)}
    held = {msgid for msgid, _ in _po_entries(PO_FILE)}
    assert sorted(extracted - held) == []
    assert sorted(held - extracted) == []
