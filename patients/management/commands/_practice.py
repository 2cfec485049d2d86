from getpass import getpass
from pathlib import Path

from django.core.management.base import CommandError

from accounts.models import Practice


def practice_by_slug(slug: str) -> Practice:
    practice = Practice.objects.filter(slug=slug).first()
    if practice is None:
        raise CommandError(f"Aucun cabinet « {slug} ».")
    return practice


def passphrase_from(path: str | None) -> str:
    """The passphrase from a file (first line), else typed without echo."""
    if path is None:
        return getpass("Phrase secrète : ")
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise CommandError(f"{path} illisible ({type(error).__name__}).") from None
    if not lines or not lines[0].strip():
        raise CommandError(f"{path} ne contient pas de phrase secrète.")
    return lines[0].strip()
