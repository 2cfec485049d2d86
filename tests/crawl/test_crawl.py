"""The persona crawl (issue 12): every persona of seed_demo logs in (password,
then TOTP, then the charter) and follows every link and GET form reachable from
its home page, on the demo data plus what real use leaves behind: a practice
whose key was rotated (twice, to completion), rows written by tasks (no
author), rows whose author account was deleted. It asserts no 5xx, no page of a
practice the persona does not work for, no raw code or English on the French
pages (tests/crawl/french.py; text marked translate="no" is shown verbatim on
purpose), and reports the pages visited per persona."""

import base64
from collections import Counter, deque
from datetime import datetime, time, timedelta
from html.parser import HTMLParser
from io import StringIO
from urllib.parse import urlencode, urljoin, urlsplit

import pyotp
import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone

from accounts.models import Practice, User
from accounts.scoping import practice_scope
from appointments import selectors as appointment_selectors
from appointments.models import AppointmentType
from appointments.services.booking import appointment_book
from appointments.services.call_messages import call_message_leave
from appointments.slots import find_free_slots
from audit.context import Actor
from demo.management.commands.seed_demo import demo_password, demo_totp_secret
from demo.people import DEMO_PRACTICES, DEMO_USERS
from patients import keys, rotation
from patients.models import Patient, PracticeKey
from tests import report
from tests.crawl.french import leftovers
from tests.factories import as_actor, grant
from tests.scoping import every_practice

pytestmark = pytest.mark.django_db

# Every view reachable is visited, up to PER_VIEW of its URLs (a week of
# appointment pages adds nothing after the first few); a bound for safety.
PER_VIEW = 3
PAGES_PER_PERSONA = 400
SKIPPED_PREFIXES = ("/static/", "/media/", "/i18n/", "/deconnexion/")
ROTATED = "saint-roch"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
LEFT_BY = "tele.partie"


class _Page(HTMLParser):
    """Links (a href), GET forms (action, fields with their default values) and
    the text a reader sees in <main>."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self._main = 0
        self._hidden = 0
        self._stack: list[tuple[str, bool]] = []
        self.links: list[str] = []
        self.forms: list[tuple[str, dict[str, str]]] = []
        self._form: tuple[str, dict[str, str]] | None = None
        self._select: str | None = None

    def handle_data(self, data: str) -> None:
        if self._main and not self._hidden and data.strip():
            self.text.append(data.strip())

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attr = dict(attrs)
        if tag not in VOID:
            # Identifiers shown verbatim are marked translate="no" (docs/decisions.md).
            verbatim = tag in {"script", "style", "code"} or attr.get("translate") == "no"
            self._stack.append((tag, verbatim))
            self._main += tag == "main"
            self._hidden += verbatim
        if tag == "a" and attr.get("href"):
            self.links.append(attr["href"])
        elif tag == "form" and (attr.get("method") or "get").lower() == "get":
            self._form = (attr.get("action") or "", {})
        elif self._form is not None and tag == "input" and attr.get("name"):
            kind = (attr.get("type") or "text").lower()
            if kind in {"checkbox", "radio"} and "checked" not in attr:
                return
            if kind not in {"submit", "button", "file"}:
                self._form[1][attr["name"]] = attr.get("value") or ""
        elif self._form is not None and tag == "select" and attr.get("name"):
            self._select = attr["name"]
        elif self._form is not None and tag == "option" and self._select:
            self._form[1].setdefault(self._select, attr.get("value") or "")

    def handle_endtag(self, tag: str) -> None:
        while self._stack and tag in {name for name, _ in self._stack}:
            name, verbatim = self._stack.pop()
            self._main -= name == "main"
            self._hidden -= verbatim
            if name == tag:
                break
        if tag == "select":
            self._select = None
        elif tag == "form" and self._form is not None:
            self.forms.append(self._form)
            self._form = None


def _rotated_practice() -> Practice:
    practice = Practice.objects.get(slug=ROTATED)
    for _ in range(2):
        done = rotation.rotate_practice_key(practice=practice, retire_grace=timedelta(0))
        assert done.retired and not done.refused
    keys.forget()
    with practice_scope(practice):
        live = PracticeKey.objects.filter(practice=practice, destroyed_at=None)
        assert list(live.values_list("version", flat=True)) == [3]
    return practice


def _free_slot(practice: Practice, practitioner: User, kind: AppointmentType):
    zone = appointment_selectors.practice_zone(practice)
    start_from = datetime.combine(
        timezone.now().astimezone(zone).date() + timedelta(days=1), time.min, tzinfo=zone
    )
    slots = find_free_slots(
        practice=practice,
        appointment_type=kind,
        practitioner=practitioner,
        start_from=start_from,
        count=1,
    )
    return slots[0].start


def _rows_of(practice: Practice, actor: Actor, text: str) -> str:
    """One appointment and one call message written by `actor`; the
    appointment's page."""
    with practice_scope(practice):
        practitioner = appointment_selectors.practitioners(practice)[0]
        kind = AppointmentType.objects.filter(practice=practice).order_by("pk").first()
        patient = Patient.objects.filter(practice=practice).order_by("pk").first()
        appointment = appointment_book(
            practice=practice,
            practitioner=practitioner,
            patient=patient,
            appointment_type=kind,
            start=_free_slot(practice, practitioner, kind),
            reason=text,
            actor=actor,
        )
        call_message_leave(
            practice=practice,
            practitioner=practitioner,
            patient=patient,
            text=text,
            actor=actor,
        )
    return reverse("appointments:detail", args=[practice.slug, appointment.pk])


def _crawl_data() -> dict[str, list[str]]:
    """The demo, then a rotated practice, task-written rows and rows whose
    author account was deleted (in every practice); {slug: their pages}."""
    call_command("seed_demo", stdout=StringIO())
    _rotated_practice()
    pages: dict[str, list[str]] = {}
    for practice in Practice.objects.order_by("pk"):
        pages[practice.slug] = [
            _rows_of(practice, Actor.system("crawl_task"), "Rappel écrit par une tâche")
        ]
        gone = grant(
            User.objects.create_user(username=f"{LEFT_BY}.{practice.slug}"),
            "telesecretary",
            practice,
        )
        pages[practice.slug].append(
            _rows_of(
                practice, as_actor(gone, "telesecretary", practice), "Écrit par un compte supprimé"
            )
        )
        with every_practice():
            gone.delete()
    return pages


def _log_in(username: str) -> Client:
    # A 500 is recorded with its URL and the crawl goes on (the list says all of them).
    client = Client(raise_request_exception=False)
    client.post(
        reverse("accounts:login"), {"username": username, "password": demo_password(username)}
    )
    code = pyotp.TOTP(base64.b32encode(demo_totp_secret(username)).decode()).now()
    response = client.post(reverse("accounts:otp"), {"code": code})
    assert response.status_code == 302, username
    client.post(reverse("accounts:agreement"), {"accept": "on"})
    return client


def _targets(url: str, page: _Page) -> list[str]:
    found = [urljoin(url, href) for href in page.links]
    for action, fields in page.forms:
        target = urljoin(url, action or url)
        found.append(f"{target.split('?')[0]}?{urlencode(fields)}" if fields else target)
    return found


def _wanted(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return False
    return not parts.path.startswith(SKIPPED_PREFIXES)


def _view(url: str) -> str:
    try:
        return resolve(urlsplit(url).path).view_name
    except Resolver404:
        return url


def crawl(
    client: Client, start: str = "/", must: tuple[str, ...] = (), texts: dict | None = None
) -> dict[str, int]:
    """{url: status} of the pages reachable from `start` by GET (links and GET
    forms), PER_VIEW per view, and of the `must` pages whatever the cap."""
    seen: dict[str, int] = {}
    per_view: Counter = Counter()
    queue = deque([start, *must])
    while queue and len(seen) < PAGES_PER_PERSONA:
        url = queue.popleft()
        if url in seen or not _wanted(url):
            continue
        view = _view(url)
        if per_view[view] >= PER_VIEW and url not in must:
            continue
        per_view[view] += 1
        response = client.get(url)
        seen[url] = response.status_code
        if response.status_code in (301, 302, 303):
            queue.append(urljoin(url, response["Location"]))
        elif response.status_code == 200 and "text/html" in response.get("Content-Type", ""):
            page = _Page()
            page.feed(response.content.decode())
            queue.extend(_targets(url, page))
            if texts is not None:
                texts[url] = page.text
    return seen


def _slugs(practice_names: list[str]) -> set[str]:
    by_name = {spec["name"]: spec["slug"] for spec in DEMO_PRACTICES}
    return {by_name[name] for name in practice_names}


def test_every_persona_crawls_without_5xx_or_another_practice():
    data_pages = _crawl_data()
    failures, french = [], []
    for spec in DEMO_USERS:
        username = spec["username"]
        own = _slugs(spec.get("practices", []))
        must = tuple(url for slug in sorted(own) for url in data_pages.get(slug, []))
        texts: dict[str, list[str]] = {}
        visited = crawl(_log_in(username), must=must, texts=texts)
        for url, text in texts.items():
            for finding in leftovers(text):
                french.append(f"{username} {url}: {finding}")
        report.add(
            "persona crawl",
            f"{username}: {len(visited)} pages, "
            f"{sum(status >= 500 for status in visited.values())} 5xx",
        )
        for url, status in visited.items():
            if status >= 500:
                failures.append(f"{username} {url}: {status}")
            path = urlsplit(url).path
            if status == 200 and path.startswith("/p/") and path.split("/")[2] not in own:
                failures.append(f"{username} {url}: another practice's page")
        assert len(visited) > 3, (username, visited)
    report.add("persona crawl", f"French leftovers: {len(french)}")
    for line in french:
        report.add("persona crawl", line)
    assert failures == []
    assert french == []
