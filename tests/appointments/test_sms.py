"""SMS backends: the console masks numbers, the file is private, locmem keeps an outbox."""

import io
import json
import stat

import pytest

from appointments import sms


def test_sms_default_backend_is_console(settings):
    del settings.SMS_BACKEND
    assert isinstance(sms.get_backend(), sms.ConsoleBackend)


def test_sms_console_backend_masks_all_but_last_two_digits():
    stream = io.StringIO()
    sent = sms.send_sms("+33612345678", "Rappel : rendez-vous", backend=sms.ConsoleBackend(stream))
    output = stream.getvalue()
    assert sent == 1
    assert "••••••••••78" in output
    assert "Rappel : rendez-vous" in output
    for fragment in ("+336", "612345", "345678", "5678"):
        assert fragment not in output


def test_sms_console_backend_writes_to_stdout(settings, capsys):
    settings.SMS_BACKEND = "appointments.sms.ConsoleBackend"
    sms.send_sms("+33798765432", "Bonjour")
    output = capsys.readouterr().out
    assert "32" in output and "98765" not in output and "Bonjour" in output


def test_sms_message_repr_masks_number():
    message = sms.SmsMessage(to="+33612345678", body="Rappel")
    assert "612345" not in repr(message) and "78" in repr(message)


def test_sms_mask_short_values():
    assert sms.mask("") == ""
    assert sms.mask("12") == "••"


def test_sms_file_backend_appends_json_lines_to_a_private_file(settings, tmp_path):
    path = tmp_path / "sms.jsonl"
    settings.SMS_BACKEND = "appointments.sms.FileBackend"
    settings.SMS_FILE_PATH = str(path)
    sms.send_sms("+33612345678", "Premier")
    sms.send_sms("+33798765432", "Second")
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(line["to"], line["body"]) for line in lines] == [
        ("+33612345678", "Premier"),
        ("+33798765432", "Second"),
    ]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_sms_file_backend_narrows_a_wider_existing_file(settings, tmp_path):
    path = tmp_path / "sms.jsonl"
    path.write_text("")
    path.chmod(0o644)
    sms.FileBackend(file_path=str(path)).send_messages([sms.SmsMessage("+33612345678", "x")])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_sms_file_backend_without_path_refuses(settings):
    settings.SMS_FILE_PATH = ""
    with pytest.raises(ValueError):
        sms.FileBackend()


def test_sms_locmem_backend_keeps_an_outbox(_sms_outbox):
    assert sms.send_sms("+33612345678", "Rappel") == 1
    assert _sms_outbox == [sms.SmsMessage(to="+33612345678", body="Rappel")]
