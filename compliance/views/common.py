"""What the compliance pages share."""

from django.http import HttpResponse


def no_store(response: HttpResponse) -> HttpResponse:
    """Compliance pages hold personal data: never kept by a browser or a proxy."""
    response["Cache-Control"] = "no-store"
    return response
