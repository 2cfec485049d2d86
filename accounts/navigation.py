"""What a role can do in a practice, as links on the practice home page.
Each app adds its entry points here: (permission codename, url name, label)."""

PRACTICE_ACTIONS: list[tuple[str, str, str]] = []


def practice_actions(request) -> list[dict]:
    from django.urls import reverse

    from accounts.permissions import has_practice_perm

    slug = request.practice.slug
    return [
        {"url": reverse(url_name, args=[slug]), "label": label}
        for codename, url_name, label in PRACTICE_ACTIONS
        if has_practice_perm(request, codename)
    ]
