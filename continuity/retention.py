"""Which backups to keep: grandfather-father-son, as a pure function."""

from collections.abc import Iterable
from datetime import datetime


def backups_to_keep(
    backups: Iterable[tuple[str, datetime]], *, daily: int, weekly: int, monthly: int
) -> set[str]:
    """Names to keep among (name, UTC time) pairs: the newest backup of each of
    the `daily` most recent days that have one, of the `weekly` most recent ISO
    weeks and of the `monthly` most recent months. The newest backup is always
    kept, whatever the settings, so that pruning never leaves nothing."""
    ordered = sorted(backups, key=lambda item: (item[1], item[0]), reverse=True)
    if not ordered:
        return set()
    keep = {ordered[0][0]}
    rules = (
        (daily, lambda moment: moment.date()),
        (weekly, lambda moment: tuple(moment.isocalendar())[:2]),
        (monthly, lambda moment: (moment.year, moment.month)),
    )
    for count, bucket_of in rules:
        seen = []
        for name, moment in ordered:
            if len(seen) >= count:
                break
            bucket = bucket_of(moment)
            if bucket not in seen:
                seen.append(bucket)
                keep.add(name)
    return keep
