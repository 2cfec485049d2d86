"""A practitioner's calendar subscription address (RFC 5545 feed).

The address carries a long random secret; only its SHA-256 digest is stored
(the secret has 256 bits: a slow hash would add nothing but cost), so the
address is shown once, when it is created. One live address per practitioner
and practice: creating a new one revokes the previous one.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager


class CalendarFeed(models.Model):
    practice = models.ForeignKey("accounts.Practice", on_delete=models.CASCADE, related_name="+")
    practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    secret_digest = models.CharField(max_length=64, unique=True)
    show_initials = models.BooleanField(_("afficher les initiales des patients"), default=False)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(practice="practice")

    class Meta:
        verbose_name = _("abonnement d'agenda")
        verbose_name_plural = _("abonnements d'agenda")
        constraints = [
            models.UniqueConstraint(
                fields=["practice", "practitioner"],
                condition=Q(revoked_at__isnull=True),
                name="calendar_feed_one_live",
            )
        ]

    def __str__(self) -> str:
        return f"calendar feed {self.pk}"

    @property
    def live(self) -> bool:
        return self.revoked_at is None
