"""`make run`'s embedded default (SQLite, tasks in process) as its users meet it:
every demo persona logs in (password, then TOTP) on a real server and opens its
home page and every page that home links to. The suite otherwise runs on
PostgreSQL, where SQL that SQLite refuses goes unnoticed."""

import base64
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

import pytest
from django_otp.oath import totp

from tests.test_settings import _NOT_INHERITED, ROOT, _fetch_when_up, _free_port, _run

_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_HREF = re.compile(r'href="(/[^"#]*)"')
_SKIP = re.compile(r"deconnexion|/i18n/|/static/|/admin/|export|\.csv|\.ics|/health/")


class Browser:
    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def open(self, path: str, data: dict | None = None) -> tuple[int, str, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body)  # noqa: S310 - our server
        if data is not None:
            request.add_header("Referer", self.base + path)
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, response.geturl(), response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.geturl(), error.read().decode()

    def submit(self, path: str, fields: dict) -> tuple[int, str, str]:
        _, _, page = self.open(path)
        token = _CSRF.search(page).group(1)
        return self.open(path, {"csrfmiddlewaretoken": token, **fields})


def _code(otpauth: str) -> str:
    secret = urllib.parse.parse_qs(urllib.parse.urlsplit(otpauth).query)["secret"][0]
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return f"{totp(key):06d}"


def _log_in(browser: Browser, user: dict) -> str:
    status, url, _ = browser.submit(
        "/connexion/", {"username": user["username"], "password": user["password"]}
    )
    assert status == 200 and url.endswith("/connexion/code/"), (user["username"], status, url)
    status, url, page = browser.submit("/connexion/code/", {"code": _code(user["otpauth"])})
    if 'name="accept"' in page:  # a new database: the charter comes first
        path = urllib.parse.urlsplit(url).path
        status, url, page = browser.submit(path, {"accept": "on"})
    assert status == 200 and "/connexion" not in url, (user["username"], status, url)
    assert 'name="accept"' not in page, user["username"]
    return page


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    import os
    import subprocess
    import sys

    database = tmp_path_factory.mktemp("embedded") / "db.sqlite3"
    env = {"DATABASE_URL": f"sqlite:///{database}", "SECRETARIAT_ENV": "dev"}
    assert _run(env, "manage.py", "migrate", "-v", "0").returncode == 0
    seeded = _run(env, "manage.py", "seed_demo", "--json")
    assert seeded.returncode == 0, seeded.stderr[-3000:]
    port = _free_port()
    full_env = {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED}
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env={**full_env, **env, "CELERY_BROKER_URL": ""},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _fetch_when_up(f"http://127.0.0.1:{port}/connexion/")
        yield f"http://127.0.0.1:{port}", json.loads(seeded.stdout)
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_every_demo_persona_opens_its_pages_on_the_embedded_default(demo_server):
    base, demo = demo_server
    visited = {}
    for user in demo["users"]:
        browser = Browser(base)
        home = _log_in(browser, user)
        links = sorted({link for link in _HREF.findall(home) if not _SKIP.search(link)})
        failures = []
        for link in links:
            status, _, _ = browser.open(link)
            if status >= 500:
                failures.append((status, link))
        assert failures == [], user["username"]
        visited[user["username"]] = len(links)
    assert all(count > 0 for count in visited.values()), visited
