from datetime import UTC, datetime, timedelta

from continuity.retention import backups_to_keep

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def _daily(days: int, per_day: int = 1) -> list[tuple[str, datetime]]:
    return [
        (f"b-{d}-{n}", NOW - timedelta(days=d, hours=n))
        for d in range(days)
        for n in range(per_day)
    ]


def test_retention_keeps_newest_of_each_recent_day():
    backups = _daily(10, per_day=2)
    keep = backups_to_keep(backups, daily=7, weekly=0, monthly=0)
    assert keep == {f"b-{d}-0" for d in range(7)}


def test_retention_keeps_weekly_and_monthly_beyond_dailies():
    backups = _daily(400)
    keep = backups_to_keep(backups, daily=7, weekly=4, monthly=12)
    kept_times = sorted((dict(backups)[name] for name in keep), reverse=True)
    # 7 dailies; weeks and months add their newest backup where not already kept.
    weeks = {tuple(t.isocalendar())[:2] for t in kept_times}
    months = {(t.year, t.month) for t in kept_times}
    assert len(weeks) >= 4
    assert len(months) == 12
    assert len(keep) <= 7 + 4 + 12
    assert min(kept_times) > NOW - timedelta(days=366)


def test_retention_always_keeps_the_newest_backup():
    backups = _daily(3)
    assert backups_to_keep(backups, daily=0, weekly=0, monthly=0) == {"b-0-0"}


def test_retention_of_nothing_is_nothing():
    assert backups_to_keep([], daily=7, weekly=4, monthly=12) == set()


def test_retention_monthly_keeps_last_backup_of_month():
    backups = [
        ("oct-1", datetime(2026, 10, 1, tzinfo=UTC)),
        ("oct-31", datetime(2026, 10, 31, tzinfo=UTC)),
        ("nov-1", datetime(2026, 11, 1, tzinfo=UTC)),
    ]
    assert backups_to_keep(backups, daily=0, weekly=0, monthly=2) == {"nov-1", "oct-31"}
