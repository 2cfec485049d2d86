"""The unread count of the header's "Notifications" link, counted only when a
page shows it, and once per page (one indexed count)."""

from functools import cache

from django.http import HttpRequest


def notices(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    @cache
    def unread_notices() -> int:
        # Templates call a callable variable; the cache makes that one query.
        from compliance.notices import unread_count

        return unread_count(user)

    return {"unread_notices": unread_notices}
