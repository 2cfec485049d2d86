"""Name the numbers a practice's calls come in on (the phone system's called
number): `manage.py cti_line --practice <slug> --add +33140000001` or
`--remove <number>`, `--list` for the practice's lines."""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Practice
from audit.context import Actor
from console import services
from console.models import PhoneLine


class Command(BaseCommand):
    help = "Add, remove or list the phone lines of a practice (issue 14, the CTI webhook)."

    def add_arguments(self, parser):
        parser.add_argument("--practice", required=True, help="the practice's slug")
        action = parser.add_mutually_exclusive_group(required=True)
        action.add_argument("--add", metavar="NUMBER")
        action.add_argument("--remove", metavar="NUMBER")
        action.add_argument("--list", action="store_true")

    def handle(self, *args, **options):
        practice = Practice.objects.filter(slug=options["practice"]).first()
        if practice is None:
            raise CommandError("Aucun cabinet ne porte cet identifiant.")
        actor = Actor.system("cti_line")
        try:
            if options["add"]:
                line = services.phone_line_add(
                    practice=practice, number=options["add"], actor=actor
                )
                self.stdout.write(f"{line.number} -> {practice.slug}")
            elif options["remove"]:
                services.phone_line_remove(practice=practice, number=options["remove"], actor=actor)
                self.stdout.write(f"{options['remove']} removed")
        except services.LineError as error:
            raise CommandError(str(error)) from None
        for line in PhoneLine.objects.filter(practice=practice):
            self.stdout.write(line.number)
