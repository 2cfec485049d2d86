import pytest

from patients import keys


@pytest.fixture(autouse=True)
def _fresh_key_cache():
    # Unwrapped practice keys are cached per process; each test starts afresh.
    keys.forget()
    yield
    keys.forget()


@pytest.fixture(autouse=True)
def _sms_outbox(settings):
    # Like Django's mail.outbox: text messages are kept in memory, emptied per test.
    from appointments import sms

    settings.SMS_BACKEND = "appointments.sms.LocmemBackend"
    sms.outbox.clear()
    yield sms.outbox
    sms.outbox.clear()
