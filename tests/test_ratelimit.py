import pytest
from django.core.cache import caches

from secretariat import ratelimit
from secretariat.ratelimit import Rate


@pytest.mark.parametrize(
    ("text", "rate"),
    [("120/h", Rate(120, 3600)), ("600/m", Rate(600, 60)), (" 5 / s ", Rate(5, 1))],
)
def test_rate_parses_count_per_unit(text, rate):
    assert Rate.parse(text) == rate


@pytest.mark.parametrize("text", ["", "0/h", "10", "10/w", "-1/h", "ten/h"])
def test_rate_refuses_what_it_cannot_read(text):
    with pytest.raises(ValueError):
        Rate.parse(text)


def test_hit_counts_per_key_and_reports_the_first_refusal(settings):
    caches[settings.RATELIMIT_CACHE].clear()
    verdicts = [ratelimit.hit("test:a", "2/h") for _ in range(4)]
    assert [v.allowed for v in verdicts] == [True, True, False, False]
    assert [v.first_refusal for v in verdicts] == [False, False, True, False]
    assert all(0 < v.retry_after <= 3600 for v in verdicts)
    assert ratelimit.hit("test:b", "2/h").allowed
