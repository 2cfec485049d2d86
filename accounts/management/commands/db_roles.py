"""Create the database roles (owner, application, maintenance) and hand a
database to the owner. Run once per cluster and database by a superuser
(`make test` and the compose `db-init` service do). Idempotent; never alters a
role that exists, except for the passwords given (--passwords-from-env)."""

import os

from django.core.management.base import BaseCommand
from django.db import connection

from accounts import dbroles

PASSWORD_VARIABLES = {
    dbroles.OWNER: "DATABASE_OWNER_PASSWORD",
    dbroles.APP: "DATABASE_APP_PASSWORD",
    dbroles.MAINTENANCE: "DATABASE_MAINTENANCE_PASSWORD",
}


class Command(BaseCommand):
    help = "Crée les rôles PostgreSQL (propriétaire, application, maintenance)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--passwords-from-env",
            action="store_true",
            help="mots de passe depuis DATABASE_OWNER/APP/MAINTENANCE_PASSWORD",
        )
        parser.add_argument(
            "--own-database",
            action="store_true",
            help="donner la base courante et son schéma public au rôle propriétaire",
        )

    def handle(self, *args, passwords_from_env: bool = False, own_database: bool = False, **kw):
        passwords = {}
        if passwords_from_env:
            passwords = {
                role: os.environ.get(variable, "") for role, variable in PASSWORD_VARIABLES.items()
            }
        with connection.cursor() as cursor:
            created = dbroles.create_roles(cursor, passwords)
            if own_database:
                dbroles.hand_database_to_owner(cursor, connection.settings_dict["NAME"])
        for role in dbroles.ATTRIBUTES:
            state = "créé" if role in created else "existant"
            self.stdout.write(f"{role}  {state}")
