"""The unread count of the header's "Notifications" link, counted only when a
page shows it, and once per page (one indexed count)."""

from functools import cache

from django.http import HttpRequest

from compliance.notices import unread_count


def notices(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    @cache
    def unread_notices() -> int:
        # Templates call a callable variable; the cache makes that one query.

        return unread_count(user)

    return {"unread_notices": unread_notices}
