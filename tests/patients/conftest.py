import pytest

from patients import keys


@pytest.fixture(autouse=True)
def _fresh_key_cache():
    # Unwrapped keys are cached per process; each test starts from the database.
    keys.forget()
    yield
    keys.forget()
