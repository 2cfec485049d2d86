"""Raw code and English left on a French page: snake_case identifiers, enum
values shown as stored, English JSON keys, Python literals, English words."""

import re
from functools import cache

from django.apps import apps
from django.db import models

SNAKE = re.compile(r"(?<![\w@./:-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w@.-])")
JSON_KEY = re.compile(r'"[A-Za-z_]+"\s*:')
WORD = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿ_][A-Za-zÀ-ÖØ-öø-ÿ0-9_]*")
PYTHON_LITERALS = {"None", "True", "False"}
# Stored values that are French words as well ("Aucune adresse active.").
FRENCH_TOO = {"active"}
# English words a French page has no reason to show (none of them is French).
ENGLISH = {
    "the", "and", "of", "to", "is", "are", "not", "with", "from", "this", "that", "your",
    "you", "please", "save", "submit", "delete", "edit", "view", "search", "create",
    "update", "login", "logout", "next", "previous", "back", "yes", "url", "booking",
    "practice", "password", "user", "users", "role", "status", "appointment", "appointments",
    "settings", "schedule", "reminder", "reminders", "sent", "pending", "failed", "error",
    "field", "required", "enter", "valid", "invalid", "value", "select", "unknown", "day",
    "week", "month", "year", "today", "tomorrow", "yesterday", "null", "undefined", "kind",
    "results", "count", "step", "key", "reason", "monday", "tuesday",
    "wednesday", "thursday", "friday", "saturday", "sunday", "january", "february", "march",
    "april", "june", "july", "august", "september", "october", "november", "december",
}  # fmt: skip


@cache
def raw_enum_values() -> frozenset[str]:
    """Values of every choices field of our models that are not French words
    (a value also found in some label, like "patient", is one)."""
    values, label_words = set(), set()
    for model in apps.get_models():
        for model_field in model._meta.get_fields():
            for value, label in getattr(model_field, "flatchoices", None) or ():
                if isinstance(value, str) and value:
                    values.add(value)
                    label_words.update(word.lower() for word in WORD.findall(str(label)))
    for choices in _text_choices():
        for value, label in choices.choices:
            values.add(value)
            label_words.update(word.lower() for word in WORD.findall(str(label)))
    return frozenset(value for value in values if value.lower() not in label_words)


def _text_choices():
    stack = list(models.TextChoices.__subclasses__())
    while stack:
        choices = stack.pop()
        stack.extend(choices.__subclasses__())
        if choices.__module__.split(".")[0] in {config.name for config in apps.get_app_configs()}:
            yield choices


def leftovers(texts: list[str]) -> list[str]:
    """What a French reader would stumble on, one line per finding."""
    found = []
    raw = raw_enum_values()
    for text in texts:
        for token in SNAKE.findall(text):
            found.append(f"identifier {token!r} in {text[:80]!r}")
        if JSON_KEY.search(text):
            found.append(f"JSON in {text[:80]!r}")
        for word in WORD.findall(text):
            if word in PYTHON_LITERALS:
                found.append(f"Python {word!r} in {text[:80]!r}")
            elif word in raw and "_" not in word and word not in FRENCH_TOO:
                found.append(f"raw value {word!r} in {text[:80]!r}")
            elif word.lower() in ENGLISH and not word.isupper():  # "URL" is French too
                found.append(f"English {word!r} in {text[:80]!r}")
    return found
