"""Calendar feed benchmark (issue 15): a practitioner's iCalendar feed fetched in
full and revalidated (If-None-Match, 304), with about 200 events in its window
against about 20, three years of appointments outside the window in both.

    python -m bench.feed                 # 200 rounds
    python -m bench.feed --rounds 50

Three requests per feed: the full feed rendered anew (its content changed since
the last fetch: the rendered body kept under the ETag is dropped first), the
full feed again (content unchanged: the body kept under its ETag), and the 304.

The feed is the application's own view, requested through Django's test client
(the whole middleware stack, the secret's lookup, the rate limit, the ETag, the
rendering by `icalendar` and the one audit event per fetch): in process, so the
times are server time. Rounds interleaved (each round: both feeds, full and
304), min/median/max and p95 in ms. Goals: a 304 under 10 ms, the full feed of
200 events under 100 ms; ratios against the 20-event feed of the same run.

Runs in a throw-away test database (created and dropped here).
"""

import argparse
import os
import statistics
import time
from datetime import timedelta

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "secretariat.settings")
os.environ.setdefault("SECRETARIAT_ENV", "test")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from audit.context import Actor  # noqa: E402
from bench.appointments import _fill, _world  # noqa: E402
from bench.goals import goal  # noqa: E402

HISTORY_DAYS = 3 * 365
TITLES = {
    "render": "full, rendered anew",
    "full": "full, content unchanged",
    "304": "304 revalidation",
}


def _feeds() -> dict:
    """Two practitioners of one practice: one booked solid for 2 working days of
    the window, the other for 15 (14 half-hours a day), both for three years
    before the window; each with a feed. Returns {label: (url, events)}."""
    from accounts.scoping import practice_scope
    from calendarfeed import services

    practice, doctors, kind, patient = _world(2)
    today = timezone.localdate()
    window_start = today - timedelta(days=settings.CALENDAR_FEED_DAYS_BACK)
    feeds = {}
    with practice_scope(practice):
        for doctor, days, label in ((doctors[0], 2, "small"), (doctors[1], 21, "large")):
            history = window_start - timedelta(days=HISTORY_DAYS + 1)
            _fill(practice, [doctor], kind, patient, history, HISTORY_DAYS)
            events = _fill(practice, [doctor], kind, patient, today + timedelta(days=1), days)
            _feed, secret = services.feed_create(
                practice=practice,
                practitioner=doctor,
                show_initials=False,
                actor=Actor.system("bench"),
            )
            feeds[label] = (f"/calendrier/{secret}.ics", events)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return feeds


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1]


def run(rounds: int) -> None:
    from django.test import Client

    settings.CALENDAR_FEED_RATE = "1000000/s"
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    feeds = _feeds()
    client = Client()
    etags = {}
    for label, (url, events) in feeds.items():
        response = client.get(url)
        assert response.status_code == 200, response.status_code
        assert response.content.count(b"BEGIN:VEVENT") == events, label
        etags[label] = response["ETag"]
    timings = {(label, kind): [] for label in feeds for kind in ("render", "full", "304")}
    for _round in range(rounds):
        for label, (url, _events) in feeds.items():
            cache.clear()  # content changed since the last fetch: rendered anew
            begin = time.perf_counter()
            rendered = client.get(url)
            timings[(label, "render")].append((time.perf_counter() - begin) * 1e3)
            begin = time.perf_counter()
            full = client.get(url)
            timings[(label, "full")].append((time.perf_counter() - begin) * 1e3)
            begin = time.perf_counter()
            cached = client.get(url, HTTP_IF_NONE_MATCH=etags[label])
            timings[(label, "304")].append((time.perf_counter() - begin) * 1e3)
            assert rendered.content == full.content
            assert full.status_code == 200 and cached.status_code == 304
    print(f"three years of history outside the window; {rounds} rounds interleaved, ms")
    print(f"{'request':<36}{'min/median/max':>24}{'p95':>9}   ratio to the 20-event feed")
    for (label, kind), samples in timings.items():
        events = feeds[label][1]
        title = f"{TITLES[kind]}, {events} events"
        cells = f"{min(samples):.2f}/{statistics.median(samples):.2f}/{max(samples):.2f}"
        base = statistics.median(timings[("small", kind)])
        ratio = statistics.median(samples) / base
        print(f"{title:<36}{cells:>24}{_p95(samples):>9.2f}   {ratio:.2f}x")
    large = feeds["large"][1]
    goal(
        issue="15",
        figure=f"feed 304 revalidation, {large} events, median",
        measured=statistics.median(timings[("large", "304")]),
        unit="ms",
        target=10,
        better="lower",
    )
    goal(
        issue="15",
        figure=f"feed of {large} events rendered anew, median",
        measured=statistics.median(timings[("large", "render")]),
        unit="ms",
        target=100,
        better="lower",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    old_name = connection.settings_dict["NAME"]
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"{old_name}_bench_feed"
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        run(args.rounds)
    finally:
        connection.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
