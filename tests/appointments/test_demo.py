import json
from io import StringIO

import pytest
from django.core.management import call_command

from appointments.models import Appointment, AppointmentType, WorkingHours
from tests.scoping import every_practice


def _seed() -> dict:
    out = StringIO()
    call_command("seed_demo", "--json", stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.django_db
def test_seed_demo_builds_schedules_types_and_appointments_once():
    _seed()
    with every_practice():
        count = Appointment.objects.count()
        assert count > 20
        assert AppointmentType.objects.count() == 6  # three per practice
        assert WorkingHours.objects.count() == 2 * 10  # two practitioners, Mon-Fri x 2
        rows = list(Appointment.objects.order_by("practitioner_id", "start"))
        for previous, current in zip(rows, rows[1:], strict=False):
            if previous.practitioner_id == current.practitioner_id:
                assert previous.end <= current.start
        assert all(row.practice_id == row.patient.practice_id for row in rows)
        assert rows[0].read("reason")
    _seed()
    with every_practice():
        assert Appointment.objects.count() == count
        assert AppointmentType.objects.count() == 6
