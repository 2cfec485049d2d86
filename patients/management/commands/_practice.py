from django.core.management.base import CommandError

from accounts.models import Practice


def practice_by_slug(slug: str) -> Practice:
    practice = Practice.objects.filter(slug=slug).first()
    if practice is None:
        raise CommandError(f"Aucun cabinet « {slug} ».")
    return practice
