from django.contrib.admin.apps import AdminConfig


class SecretariatAdminConfig(AdminConfig):
    """The Django admin with our site (secretariat.admin): the library admins
    register there, and the ones we do not want are removed once they have."""

    default_site = "secretariat.admin.SecretariatAdminSite"

    def ready(self):
        from secretariat.admin import unregister_unwanted

        super().ready()  # autodiscover: every app's admin.py registers on our site
        unregister_unwanted()
