"""How pages name the author of a row: {{ row.author|person }}.

Authors are nullable in many places: a row written by a task or by the demo
data has none, and an account deleted later leaves SET_NULL behind. Chaining
`user.get_full_name|default:user.username` breaks on None (a filter argument
that does not resolve raises, and the page answers 500); this filter never
does."""

from django import template
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def person(user) -> str:
    """The user's full name, else the username; "système ou compte supprimé"
    when there is none."""
    if user is None:
        return _("système ou compte supprimé")
    return user.get_full_name() or user.get_username()
