"""{% load roles %}: {{ event.role|role_label }} names a role for people."""

from django import template

from accounts import roles

register = template.Library()


@register.filter
def role_label(value: str | None) -> str:
    return roles.role_label(value)
