"""The feed itself (public, the secret in its address is the credential) and
the practitioner's page to create, see and revoke their address."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import parse_etags
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST, require_safe

from accounts.permissions import agreement_exempt, practice_permission
from accounts.qr import qr_data_uri
from accounts.scoping import practice_scope
from audit.context import Actor
from audit.models import Action, AuditEvent, ObjectType, Outcome
from audit.services import record_event
from calendarfeed import ical, selectors, services
from calendarfeed.forms import InitialsForm
from calendarfeed.models import CalendarFeed
from secretariat import ratelimit

# The acting role written in the audit for a fetch by a calendar app.
FEED_ROLE = "calendar_feed"
OWN_AGENDA = "view_own_agenda"


def _feed_actor(request: HttpRequest, feed: CalendarFeed) -> Actor:
    """The practitioner whose address it is, through their calendar app (the
    browser's own session, if any, is not who fetches)."""
    actor = Actor.from_request(request, user=feed.practitioner)
    return actor.acting_as(FEED_ROLE).in_practice(feed.practice_id)


def _audit_fetch(actor: Actor, feed: CalendarFeed, outcome=Outcome.ALLOWED, **detail) -> None:
    denied = outcome == Outcome.DENIED
    record_event(
        actor=actor,
        action=Action.PERMISSION_DENIED if denied else Action.LIST,
        outcome=outcome,
        object_type=ObjectType.CALENDAR_FEED,
        object_id=feed.pk,
        detail=detail,
    )


def _too_many(verdict: ratelimit.Verdict) -> HttpResponse:
    response = HttpResponse(
        _("Trop de requêtes pour cette adresse d'abonnement."),
        status=429,
        content_type="text/plain; charset=utf-8",
    )
    response["Retry-After"] = str(verdict.retry_after)
    return response


def _not_found() -> HttpResponse:
    return HttpResponse(status=404, content_type="text/plain; charset=utf-8")


@login_not_required
@agreement_exempt
@require_safe
def feed_view(request: HttpRequest, secret: str) -> HttpResponse:
    """The practitioner's appointments as iCalendar; 304 when the client's
    ETag is current. One audit event per fetch, in the practice's chain."""
    practice_id = selectors.practice_of_secret(secret)
    if practice_id is None:
        return _not_found()
    # One transaction for the whole fetch: a calendar app revalidates often.
    with practice_scope(practice_id):
        feed = selectors.feed_for_secret(practice_id, secret)
        if feed is None:
            return _not_found()
        actor = _feed_actor(request, feed)
        verdict = ratelimit.hit(f"calendar-feed:{feed.pk}", settings.CALENDAR_FEED_RATE)
        if not verdict.allowed:
            if verdict.first_refusal:
                _audit_fetch(actor, feed, Outcome.DENIED, status=429)
            return _too_many(verdict)
        if not selectors.feed_live(feed):
            _audit_fetch(actor, feed, Outcome.DENIED, status=404)
            return _not_found()
        return _feed_response(request, actor, feed)


def _feed_response(request: HttpRequest, actor: Actor, feed: CalendarFeed) -> HttpResponse:
    start, end = selectors.feed_window(feed.practice, timezone.now())
    etag, count = selectors.feed_fingerprint(feed, start, end)
    if etag in parse_etags(request.headers.get("If-None-Match", "")):
        _audit_fetch(actor, feed, status=304, count=count)
        response = HttpResponse(status=304)
    else:
        body = ical.feed_body(feed, start, end, etag)
        _audit_fetch(actor, feed, status=200, count=count)
        response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
        response["Content-Disposition"] = 'inline; filename="agenda.ics"'
    response["ETag"] = etag
    # Times and types only: a private cache may keep it and revalidate. With
    # the patients' initials it carries patient data: never stored.
    response["Cache-Control"] = "no-store" if feed.show_initials else "private, no-cache"
    return response


# The practitioner's page ------------------------------------------------------


def _feed_urls(request: HttpRequest, secret: str) -> dict:
    https = request.build_absolute_uri(reverse("calendarfeed:feed", args=[secret]))
    webcal = "webcal://" + https.split("://", 1)[1]
    return {"https": https, "webcal": webcal, "qr": qr_data_uri(webcal)}


def _last_fetch(feed: CalendarFeed | None):
    if feed is None:
        return None
    return (
        AuditEvent.objects.filter(
            object_type=ObjectType.CALENDAR_FEED,
            object_id=str(feed.pk),
            action=Action.LIST,
            practice_id=feed.practice_id,
        )
        .order_by("-id")
        .values_list("occurred_at", flat=True)
        .first()
    )


def _render_page(request: HttpRequest, status: int = 200, **extra) -> HttpResponse:
    feed = selectors.live_feed(request.practice, request.user)
    context = {
        "feed": feed,
        "last_fetch": _last_fetch(feed),
        "form": InitialsForm(initial={"show_initials": feed.show_initials if feed else False}),
        "days_back": settings.CALENDAR_FEED_DAYS_BACK,
        "days_ahead": settings.CALENDAR_FEED_DAYS_AHEAD,
        **extra,
    }
    return render(request, "calendarfeed/subscription.html", context, status=status)


@practice_permission(OWN_AGENDA)
@never_cache
@require_GET
def subscription_view(request: HttpRequest, practice: str) -> HttpResponse:
    record_event(actor=request.actor, action=Action.VIEW, object_type=ObjectType.CALENDAR_FEED)
    return _render_page(request)


@practice_permission(OWN_AGENDA)
@never_cache
@require_POST
def subscription_create_view(request: HttpRequest, practice: str) -> HttpResponse:
    """A new address, shown once on this very response (never stored)."""
    form = InitialsForm(request.POST)
    if not form.is_valid():
        raise Http404  # a checkbox cannot be invalid: a forged form
    _feed, secret = services.feed_create(
        practice=request.practice,
        practitioner=request.user,
        show_initials=form.cleaned_data["show_initials"],
        actor=request.actor,
    )
    return _render_page(request, created=_feed_urls(request, secret))


@practice_permission(OWN_AGENDA)
@require_POST
def subscription_initials_view(request: HttpRequest, practice: str) -> HttpResponse:
    feed = selectors.live_feed(request.practice, request.user)
    form = InitialsForm(request.POST)
    if feed is None or not form.is_valid():
        raise Http404
    services.feed_set_initials(
        feed=feed, show_initials=form.cleaned_data["show_initials"], actor=request.actor
    )
    messages.success(request, _("Contenu de l'agenda abonné enregistré."))
    return redirect("calendarfeed:subscription", request.practice.slug)


@practice_permission(OWN_AGENDA)
@require_POST
def subscription_revoke_view(request: HttpRequest, practice: str) -> HttpResponse:
    revoked = services.feed_revoke(
        practice=request.practice, practitioner=request.user, actor=request.actor
    )
    if revoked:
        messages.success(request, _("Adresse d'abonnement révoquée : elle ne fonctionne plus."))
    else:
        messages.info(request, _("Aucune adresse d'abonnement active."))
    return redirect("calendarfeed:subscription", request.practice.slug)
