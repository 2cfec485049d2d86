"""An API client: a practice's own software, registered by a platform admin.

The OAuth 2.0 client itself is django-oauth-toolkit's Application (client
credentials, confidential, its secret hashed); this row binds it to one
practice and lists its SMART scopes. A token's practice is its client's: the
API enters that practice's scope and never takes a practice from the request.
Revoking deletes the Application (and so every token) and keeps this row, with
the client id, for the listing and the audit trail.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ApiClient(models.Model):
    practice = models.ForeignKey("accounts.Practice", on_delete=models.CASCADE, related_name="+")
    application = models.OneToOneField(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="api_client",
    )
    client_id = models.CharField(_("identifiant du client"), max_length=100, unique=True)
    name = models.CharField(_("nom du logiciel"), max_length=100)
    scopes = models.CharField(_("autorisations (scopes SMART)"), max_length=500)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    rotated_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("client de l'API")
        verbose_name_plural = _("clients de l'API")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"api client {self.client_id}"

    @property
    def live(self) -> bool:
        return self.revoked_at is None and self.application_id is not None
