from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


class MaximumLengthValidator:
    """Accept up to max_length characters and refuse more: never truncate."""

    def __init__(self, max_length: int = 64) -> None:
        self.max_length = max_length

    def validate(self, password: str, user=None) -> None:
        if len(password) > self.max_length:
            raise ValidationError(
                _("Le mot de passe ne doit pas dépasser %(max)d caractères.")
                % {"max": self.max_length},
                code="password_too_long",
            )

    def get_help_text(self) -> str:
        return _("Au plus %(max)d caractères.") % {"max": self.max_length}


def _letters_and_digits(text: str) -> str:
    return "".join(char for char in text.casefold() if char.isalnum())


class UsernameNotInPasswordValidator:
    """Refuse a password containing the username, repeated or not, whatever the
    case or separators ("tele.martintele.martin" for tele.martin): Django's
    similarity check lets a repeated username through (ratio 0.67 < 0.7)."""

    MIN_USERNAME = 4

    def validate(self, password: str, user=None) -> None:
        username = _letters_and_digits(getattr(user, "username", "") or "")
        if len(username) >= self.MIN_USERNAME and username in _letters_and_digits(password):
            raise ValidationError(
                _("Le mot de passe ne doit pas contenir votre identifiant."),
                code="password_contains_username",
            )

    def get_help_text(self) -> str:
        return _("Il ne doit pas contenir votre identifiant.")
