from django.apps import AppConfig
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _


class FhirConfig(AppConfig):
    name = "fhir_api"
    verbose_name = _("API FHIR")

    def onboarding_steps(self, practice) -> list[tuple[str, bool, str]]:
        """The onboarding checklist's optional step: the practice's own software
        connected through the API (a client registered and not revoked)."""
        clients = self.get_model("ApiClient").objects.filter(
            practice=practice, revoked_at__isnull=True
        )
        url = f"{reverse('fhir:clients')}?{urlencode({'cabinet': practice.slug})}#enregistrer"
        return [(_("Logiciel du cabinet relié par l'API FHIR"), clients.exists(), url)]
