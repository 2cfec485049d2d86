"""The practices' phone lines, named by the operator's command."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from console.models import PhoneLine

pytestmark = pytest.mark.django_db


def _line(*args) -> str:
    out = StringIO()
    call_command("cti_line", *args, stdout=out)
    return out.getvalue()


def test_a_line_is_added_normalised_and_audited(world):
    _line("--practice", "cabinet-a", "--add", "01 40 00 00 01")
    [line] = PhoneLine.objects.all()
    assert (line.number, line.practice) == ("+33140000001", world.practice_a)
    assert AuditEvent.objects.filter(action="create", object_type="phone_line").exists()
    _line("--practice", "cabinet-a", "--add", "+33 1 40 00 00 02")  # several per practice
    assert PhoneLine.objects.filter(practice=world.practice_a).count() == 2


def test_another_practices_number_is_refused(world):
    _line("--practice", "cabinet-a", "--add", "01 40 00 00 01")
    with pytest.raises(CommandError, match="autre cabinet"):
        _line("--practice", "cabinet-b", "--add", "+33140000001")
    with pytest.raises(CommandError, match="invalide"):
        _line("--practice", "cabinet-b", "--add", "pas un numéro")


def test_a_line_is_removed(world):
    _line("--practice", "cabinet-a", "--add", "01 40 00 00 01")
    _line("--practice", "cabinet-a", "--remove", "01 40 00 00 01")
    assert not PhoneLine.objects.exists()
    with pytest.raises(CommandError):
        _line("--practice", "cabinet-a", "--remove", "01 40 00 00 01")
