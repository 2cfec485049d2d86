from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext_lazy as _


class PatientsConfig(AppConfig):
    name = "patients"
    verbose_name = _("Patients")

    def ready(self) -> None:
        # Each app's portability.py registers its sections of the patient's
        # file (patients/portability.py), whatever its layer.
        autodiscover_modules("portability")
