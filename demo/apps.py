from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Synthetic demo data (`manage.py seed_demo`): the top of the layers, since
    it fills every domain through its services."""

    name = "demo"
    verbose_name = "Démonstration"
