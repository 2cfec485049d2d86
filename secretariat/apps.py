from django.apps import apps
from django.contrib.admin.apps import AdminConfig

# Registered by Django or a library, removed from the admin: roles are granted by
# the application's services, never by editing groups.
UNREGISTERED = ("auth.group",)


class SecretariatAdminConfig(AdminConfig):
    """The Django admin with our site (secretariat/admin.py): the library admins
    register there, and the ones we do not want are removed once they have."""

    default_site = "secretariat.admin.SecretariatAdminSite"

    def ready(self):
        from django.contrib import admin  # noqa: PLC0415 -- app registry not ready at import

        super().ready()  # autodiscover: every app's admin.py registers on our site
        for label in UNREGISTERED:
            model = apps.get_model(label)
            if admin.site.is_registered(model):
                admin.site.unregister(model)
