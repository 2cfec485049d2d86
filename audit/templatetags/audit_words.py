"""The audit trail's codes in words, for templates (audit/labels.py)."""

from django import template

from audit import labels

register = template.Library()


@register.filter
def object_id_words(event) -> str:
    return labels.object_id_words(event.object_type, event.object_id)


@register.filter
def detail_rows(detail: dict | None) -> list[tuple[str, str]]:
    return labels.detail_rows(detail or {})


@register.filter
def chain_label(key: str) -> str:
    return labels.chain_label(key)


@register.filter
def actor_label(username: str) -> str:
    return labels.actor_label(username or "")
