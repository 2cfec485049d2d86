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
rendering by `icalendar` and the one audit event per fetch), in process.
Two tables: the wall time through the test client, and the server time (the
`Server-Timing` header's total, secretariat/timing.py: from the application's
middleware to the response), with the statements each request made. Rounds
interleaved (each round: both feeds, the three requests), min/median/max and
p95 in ms. Goals, on the server time: a 304 under 10 ms, the full feed of 200
events under 100 ms; ratios against the 20-event feed of the same run.

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
from bench.agenda import _TIMING  # noqa: E402
from bench.appointments import _fill, _world  # noqa: E402
from bench.goals import goal  # noqa: E402

HISTORY_DAYS = 3 * 365
TITLES = {
    "render": "full, rendered anew",
    "changed": "full, one appointment changed",
    "full": "full, content unchanged",
    "304": "304 revalidation",
}


def _feeds() -> dict:
    """Two practitioners of one practice: one booked solid for 2 working days of
    the window, the other for 15 (14 half-hours a day), both for three years
    before the window; each with a feed. Returns {label: (url, events, doctor, practice)}."""
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
            feeds[label] = (f"/calendrier/{secret}.ics", events, doctor, practice)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return feeds


def _touch_one(doctor, practice) -> None:
    """A change to one appointment of the doctor's window (what a booking
    moved or cancelled does to the feed's content)."""
    from accounts.scoping import practice_scope
    from appointments.models import Appointment

    tomorrow = timezone.now() + timedelta(days=1)
    with practice_scope(practice):
        first = Appointment.objects.filter(practitioner=doctor, start__gte=tomorrow).order_by(
            "start"
        )
        Appointment.objects.filter(pk=first.values("pk")[:1]).update(updated_at=timezone.now())


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1]


def _timed(client, url: str, **headers) -> tuple[object, float, float, int]:
    """The response, its wall time through the test client, and its server
    time and query count from its Server-Timing header (ms)."""
    begin = time.perf_counter()
    response = client.get(url, **headers)
    wall = (time.perf_counter() - begin) * 1e3
    _db, queries, _decrypted, total = _TIMING.fullmatch(response["Server-Timing"]).groups()
    return response, wall, float(total), int(queries)


def run(rounds: int) -> None:
    from django.test import Client

    settings.CALENDAR_FEED_RATE = "1000000/s"
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    settings.SERVER_TIMING = True  # the server's own time (secretariat/timing.py)
    feeds = _feeds()
    client = Client()
    for label, (url, events, *_rest) in feeds.items():
        response = client.get(url)
        assert response.status_code == 200, response.status_code
        assert response.content.count(b"BEGIN:VEVENT") == events, label
    keys = [(label, kind) for label in feeds for kind in TITLES]
    wall, server, queries = ({key: [] for key in keys} for _ in range(3))
    for _round in range(rounds):
        for label, (url, *_rest) in feeds.items():
            responses = {}
            for kind in TITLES:
                headers = {}
                if kind == "render":
                    cache.clear()  # nothing kept: every event rendered
                elif kind == "changed":
                    _touch_one(*feeds[label][2:])  # one event rendered, the others kept
                elif kind == "304":
                    headers["HTTP_IF_NONE_MATCH"] = responses["full"]["ETag"]
                responses[kind], *times = _timed(client, url, **headers)
                for samples, value in zip((wall, server, queries), times, strict=True):
                    samples[(label, kind)].append(value)
            assert responses["changed"].content == responses["full"].content
            assert responses["render"]["ETag"] != responses["changed"]["ETag"]
            assert responses["full"].status_code == 200 and responses["304"].status_code == 304
    print(f"three years of history outside the window; {rounds} rounds interleaved, ms")
    _table("wall time through the test client", wall, feeds, queries)
    _table("server time (Server-Timing total)", server, feeds, queries)
    large = feeds["large"][1]
    goal(
        issue="15",
        figure=f"feed 304 revalidation, {large} events, server time median",
        measured=statistics.median(server[("large", "304")]),
        unit="ms",
        target=10,
        better="lower",
    )
    goal(
        issue="15",
        figure=f"feed of {large} events rendered anew, server time median",
        measured=statistics.median(server[("large", "render")]),
        unit="ms",
        target=100,
        better="lower",
    )
    goal(
        issue="15",
        figure=f"feed of {large} events, one appointment changed, server time median",
        measured=statistics.median(server[("large", "changed")]),
        unit="ms",
        target=100,
        better="lower",
    )


def _table(heading: str, timings: dict, feeds: dict, queries: dict) -> None:
    print(f"\n{heading}")
    print(f"{'request':<36}{'min/median/max':>24}{'p95':>9}{'queries':>9}   ratio to 20 events")
    for (label, kind), samples in timings.items():
        title = f"{TITLES[kind]}, {feeds[label][1]} events"
        cells = f"{min(samples):.2f}/{statistics.median(samples):.2f}/{max(samples):.2f}"
        ratio = statistics.median(samples) / statistics.median(timings[("small", kind)])
        count = statistics.median(queries[(label, kind)])
        print(f"{title:<36}{cells:>24}{_p95(samples):>9.2f}{count:>9.0f}   {ratio:.2f}x")


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
