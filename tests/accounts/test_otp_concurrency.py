import threading

import pytest
from django.db import connection

from accounts import otp
from tests.accounts.helpers import authenticator
from tests.factories import UserFactory, enrol_device


@pytest.mark.django_db(transaction=True)
def test_same_code_in_parallel_requests_is_accepted_once():
    device = enrol_device(UserFactory(username="racer"))
    code = authenticator().now()
    barrier = threading.Barrier(4)
    results: list[bool] = []

    def attempt():
        barrier.wait()
        try:
            results.append(otp.verify_device_token(device_id=device.pk, token=code))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, False, False, True]


@pytest.mark.django_db(transaction=True)
def test_same_recovery_code_in_parallel_is_accepted_once():
    user = UserFactory(username="racer2")
    code = otp.recovery_codes_regenerate(user=user)[0]
    barrier = threading.Barrier(4)
    results: list[bool] = []

    def attempt():
        barrier.wait()
        try:
            results.append(otp.recovery_code_use(user=user, code=code))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, False, False, True]
