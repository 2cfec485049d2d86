import pytest

from patients import keys


@pytest.fixture(autouse=True)
def _fresh_key_cache():
    # Unwrapped practice keys are cached per process; each test starts afresh.
    keys.forget()
    yield
    keys.forget()
