"""The starter agenda a new practice gets at onboarding (and the demo uses):
common appointment types and Monday-Friday hours, to be adjusted by the
practice manager afterwards."""

from datetime import time

from appointments.models import Colour

# name, minutes, colour, bookable by the telesecretary, instructions for the telesecretary
STARTER_TYPES = [
    (
        "Consultation",
        20,
        Colour.BLUE,
        True,
        "Demander le motif en quelques mots et rappeler d'apporter la carte Vitale.",
    ),
    (
        "Première consultation",
        40,
        Colour.GREEN,
        True,
        "Nouveau patient : venir 10 minutes en avance avec les derniers comptes rendus "
        "et l'ordonnance en cours.",
    ),
    (
        "Petite chirurgie",
        45,
        Colour.RED,
        False,
        "Réservé au cabinet : ne pas réserver, laisser un message au praticien.",
    ),
]
# Monday (0) to Friday (4), morning and afternoon.
STARTER_HOURS = [(time(9), time(12)), (time(14), time(18))]
STARTER_WEEKDAYS = range(5)
